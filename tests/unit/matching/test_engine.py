import re
from dataclasses import replace
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.events.common import LocalizedText
from shared.events.listing import ItemStatus
from shared.events.matching import (
    MATCH_CREATED, MATCH_RETRACTED, MATCH_UPDATED, DeclineReason, FeedbackDecision, MatchFeedbackData, RetractReason,
    match_id,
)
from shared.party_types import Kind, PartyType

from services.matching.domain.engine import MatchEngine
from services.matching.domain.explanation import UPDATE_EPSILON, is_news, render
from services.matching.domain.scoring import score_pair
from tests.unit.matching.factories import NOW, need, offer


def _types(changes):
    return [(c.event_type, c.match_id) for c in changes]


def test_a_new_need_finds_offers_and_a_new_offer_finds_needs():
    engine = MatchEngine()
    assert engine.on_item(offer("o1", zh="毫米波射频芯片"), NOW) == []
    created = engine.on_item(need("n1", zh="射频芯片"), NOW)
    assert _types(created) == [(MATCH_CREATED, match_id("o1", "n1"))]
    created = engine.on_item(offer("o2", zh="射频芯片封装"), NOW)
    assert _types(created) == [(MATCH_CREATED, match_id("o2", "n1"))]
    assert {m.offer.item_id for m in engine.matches_for("n1")} == {"o1", "o2"}


def test_top_k_limits_new_matches_per_item():
    engine = MatchEngine(top_k=2)
    for n in range(5):
        engine.on_item(offer(f"o{n}", en="radio beamforming" + " radio" * n), NOW)
    assert len(engine.on_item(need("n", en="radio beamforming"), NOW)) == 2


def test_withdrawn_closed_expired_retract_with_the_reason():
    engine = MatchEngine()
    engine.on_item(offer("o1", en="radio"), NOW)
    engine.on_item(offer("o2", en="radio"), NOW)
    engine.on_item(offer("o3", en="radio"), NOW)
    engine.on_item(need("n", en="radio"), NOW)
    withdrawn = engine.on_item(offer("o1", en="radio", status=ItemStatus.WITHDRAWN, version=2), NOW)
    closed = engine.on_item(offer("o2", en="radio", status=ItemStatus.CLOSED, version=2), NOW)
    expired = engine.on_item(offer("o3", en="radio", expires_at=NOW + timedelta(days=1)), NOW + timedelta(days=2))
    assert [(c.event_type, c.data.reason) for c in withdrawn + closed + expired] == [
        (MATCH_RETRACTED, RetractReason.OFFER_WITHDRAWN), (MATCH_RETRACTED, RetractReason.CLOSED),
        (MATCH_RETRACTED, RetractReason.EXPIRED)]
    assert engine.matches_for("n") == [] and len(engine) == 0


def test_a_need_withdrawn_retracts_for_the_need():
    engine = MatchEngine()
    engine.on_item(offer("o", en="radio"), NOW)
    engine.on_item(need("n", en="radio"), NOW)
    changes = engine.on_item(need("n", en="radio", status=ItemStatus.WITHDRAWN, version=2), NOW)
    assert [c.data.reason for c in changes] == [RetractReason.NEED_WITHDRAWN]


def test_an_update_that_changes_the_score_updates_and_one_that_drops_it_retracts():
    engine = MatchEngine()
    engine.on_item(offer("o", fields=["5G.RAN"], en="radio beamforming", region="CN-BJ.BJ"), NOW)
    engine.on_item(need("n", fields=["5G.RAN"], en="radio beamforming"), NOW)
    before = engine.match(match_id("o", "n")).score
    updated = engine.on_item(need("n", fields=["5G.RAN"], en="radio beamforming", region_preference=["CN-SC"],
                                  version=2), NOW)
    assert _types(updated) == [(MATCH_UPDATED, match_id("o", "n"))]
    assert updated[0].data.score == engine.match(match_id("o", "n")).score < before
    unchanged = engine.on_item(need("n", fields=["5G.RAN"], en="radio beamforming", region_preference=["CN-SC"],
                                    version=3), NOW)
    assert unchanged == []
    dropped = engine.on_item(need("n", fields=["5G.OPT"], en="optics", version=4), NOW)
    assert [(c.event_type, c.data.reason) for c in dropped] == [(MATCH_RETRACTED, RetractReason.BELOW_THRESHOLD)]


def test_a_stale_version_is_ignored():
    engine = MatchEngine()
    engine.on_item(offer("o", en="radio", version=3), NOW)
    engine.on_item(need("n", en="radio"), NOW)
    assert engine.on_item(offer("o", en="radio", status=ItemStatus.WITHDRAWN, version=2), NOW) == []
    assert len(engine) == 1


def test_below_threshold_pairs_are_never_created():
    engine = MatchEngine(threshold=0.99)
    engine.on_item(offer("o", en="radio"), NOW)
    assert engine.on_item(need("n", en="radio", trl=9), NOW) == []


def test_a_decline_retracts_for_that_participant_and_lowers_similar_candidates():
    engine = MatchEngine()
    engine.on_item(offer("o1", fields=["5G.RAN"], en="radio", owner="uni"), NOW)
    engine.on_item(offer("o2", fields=["5G.RAN"], en="radio network", owner="uni2"), NOW)
    engine.on_item(need("n", fields=["5G.RAN"], en="radio network", owner="ent"), NOW)
    before = engine.match(match_id("o1", "n")).score
    changes = engine.on_feedback(MatchFeedbackData(match_id=match_id("o2", "n"), participant_id="ent",
                                                   decision=FeedbackDecision.DECLINE,
                                                   reason=DeclineReason.NOT_OUR_FIELD), NOW)
    assert (changes[0].event_type, changes[0].data.reason, changes[0].data.for_participant) == (
        MATCH_RETRACTED, RetractReason.DECLINED, "ent")
    assert engine.declined_by(match_id("o2", "n")) == {"ent"}
    assert engine.match(match_id("o1", "n")).score < before  # a similar candidate, lowered
    assert any(c.event_type == MATCH_UPDATED and c.match_id == match_id("o1", "n") for c in changes)
    repeat = MatchFeedbackData(match_id=match_id("o2", "n"), participant_id="ent", decision=FeedbackDecision.DECLINE)
    assert engine.on_feedback(repeat, NOW) == []
    stranger = MatchFeedbackData(match_id=match_id("o1", "n"), participant_id="x", decision=FeedbackDecision.DECLINE)
    assert engine.on_feedback(stranger, NOW) == []


def test_a_declined_pair_is_not_proposed_again():
    engine = MatchEngine()
    engine.on_item(offer("o", en="radio", owner="uni"), NOW)
    engine.on_item(need("n", en="radio", owner="ent"), NOW)
    for who in ("ent", "uni"):
        engine.on_feedback(MatchFeedbackData(match_id=match_id("o", "n"), participant_id=who,
                                             decision=FeedbackDecision.DECLINE), NOW)
    assert engine.match(match_id("o", "n")) is None
    assert engine.on_item(need("n", en="radio", owner="ent", version=2), NOW) == []


def test_kinds_only_match_their_own_kind():
    engine = MatchEngine()
    engine.on_item(offer("fund", kind=Kind.CAPITAL, party=PartyType.INVESTOR, en="radio chips"), NOW)
    assert engine.on_item(need("n", en="radio chips"), NOW) == []


_EVENTS = st.lists(st.tuples(
    st.sampled_from(["offer", "need"]), st.integers(0, 5),
    st.sampled_from(["radio beamforming", "毫米波 射频 芯片", "radio chip", "optical module", "robot"]),
    st.sampled_from([["5G.RAN"], ["5G.RF"], ["5G.OPT"], ["IMFG.ROB"]]),
    st.sampled_from([ItemStatus.OPEN, ItemStatus.OPEN, ItemStatus.WITHDRAWN]),
    st.none() | st.integers(1, 9)), min_size=1, max_size=25)


def _replay(events):
    engine = MatchEngine(threshold=0.3, top_k=3)
    out = []
    for version, (side, n, text, fields, status, trl) in enumerate(events, start=1):
        build = offer if side == "offer" else need
        item = build(f"{side}{n}", zh=text, fields=fields, status=status, trl=trl, version=version)
        out += [(c.event_type, c.data.model_dump_json()) for c in engine.on_item(item, NOW + timedelta(hours=version))]
    return out, engine


@settings(max_examples=40, deadline=None)
@given(_EVENTS)
def test_replaying_the_same_input_gives_the_same_output_and_consistent_state(events):
    first, engine = _replay(events)
    second, _ = _replay(events)
    assert first == second
    live = {}
    for event_type, payload in first:
        mid = payload.split('"match_id":"')[1].split('"')[0]
        if event_type == MATCH_RETRACTED:
            assert mid in live
            live.pop(mid)
        else:
            assert (mid in live) == (event_type == MATCH_UPDATED)
            live[mid] = payload
    assert [m.match_id for m in engine.matches()] == sorted(live)
    assert all(m.score >= 0.3 for m in engine.matches())
    assert all(len(engine.matches_for(f"{side}{n}")) <= 3 for side, n, *_ in events)  # top-k on both sides


def test_top_k_holds_on_the_passive_side_too_and_an_outranked_match_is_retracted():
    engine = MatchEngine(top_k=2)
    engine.on_item(offer("o", en="radio beamforming antenna"), NOW)
    engine.on_item(need("n1", en="radio", age_days=300), NOW)
    engine.on_item(need("n2", en="radio beamforming", age_days=200), NOW)
    assert {m.need.item_id for m in engine.matches_for("o")} == {"n1", "n2"}
    better = engine.on_item(need("n3", en="radio beamforming antenna"), NOW)
    assert [(c.event_type, c.match_id) for c in better] == [
        (MATCH_RETRACTED, match_id("o", "n1")), (MATCH_CREATED, match_id("o", "n3"))]
    assert better[0].data.reason is RetractReason.OUTRANKED
    worse = engine.on_item(need("n4", en="radio", age_days=350), NOW)
    assert worse == []
    assert {m.need.item_id for m in engine.matches_for("o")} == {"n2", "n3"}


def test_an_updated_item_keeps_its_best_top_k_of_old_and_new_partners():
    engine = MatchEngine(top_k=2)
    engine.on_item(offer("o1", en="radio"), NOW)
    engine.on_item(offer("o2", en="radio"), NOW)
    engine.on_item(offer("o3", fields=["5G.OPT"], en="optics laser"), NOW)
    engine.on_item(offer("o4", fields=["5G.OPT"], en="optics laser"), NOW)
    engine.on_item(need("n", en="radio"), NOW)
    assert {m.offer.item_id for m in engine.matches_for("n")} == {"o1", "o2"}
    moved = engine.on_item(need("n", fields=["5G.OPT"], en="optics laser", version=2), NOW)
    assert sorted((c.event_type, c.match_id) for c in moved) == sorted([
        (MATCH_RETRACTED, match_id("o1", "n")), (MATCH_RETRACTED, match_id("o2", "n")),
        (MATCH_CREATED, match_id("o3", "n")), (MATCH_CREATED, match_id("o4", "n"))])
    assert len(engine.matches_for("n")) == 2


def test_no_item_ever_holds_more_than_top_k_matches():
    engine = MatchEngine(top_k=3)
    for n in range(8):
        engine.on_item(offer(f"o{n}", en="radio beamforming" + " radio" * n, age_days=n), NOW)
        engine.on_item(need(f"n{n}", en="radio beamforming" + " antenna" * n, age_days=n), NOW)
    held = [len(engine.matches_for(f"{side}{n}")) for side in "on" for n in range(8)]
    assert max(held) == 3  # full items, none above k (a slot an outranked match frees stays free)


_FIGURE = re.compile(r"\d+\.\d+")


def _news_as_read(old, new):
    """The rule as a reader sees it, on the rendered matches: the score moved by more than
    UPDATE_EPSILON, a side changed, or a line changed other than in its figures."""
    before, after = render(old), render(new)
    facts = [[_FIGURE.sub("#", line) for line in lines]
             for lines in (before.explanation.zh, after.explanation.zh, before.explanation.en, after.explanation.en)]
    return (abs(before.score - after.score) > UPDATE_EPSILON or before.offer != after.offer
            or before.need != after.need or facts[0] != facts[1] or facts[2] != facts[3])


def test_a_rescored_match_is_news_only_for_a_material_score_move_or_a_changed_fact():
    o, n = offer("o", zh="毫米波射频芯片", en="mmwave rf chip", age_days=10), need("n", zh="射频芯片", en="rf chip")
    sent = score_pair(o, n, now=NOW)
    aged = score_pair(o, n, now=NOW + timedelta(days=1))  # freshness drifts: a figure, not a fact
    variants = {
        "aged": (aged, False),
        "score just within epsilon": (replace(sent, score=sent.score - UPDATE_EPSILON * 0.9), False),
        "score beyond epsilon": (replace(sent, score=sent.score - UPDATE_EPSILON * 1.1), True),
        "other shared terms": (replace(sent, terms=("天线", "antenna")), True),
        "a decline penalty": (replace(sent, factor=0.995), True),  # a line "lowered 0%" appears
        "another penalty": (replace(replace(sent, factor=0.7), factor=0.6), True),
        "a prior": (replace(sent, prior=0.002, bound=0.025), True),
        "a new version, same content": (replace(sent, offer=o.model_copy(update={"version": 2})), False),
        "a new title": (replace(sent, offer=o.model_copy(update={"title": LocalizedText(zh="新标题", en="new")})),
                        True),
        "a region now stated": (replace(sent, offer=o.model_copy(update={"region": "CN-SC.CD"})), True),
        "a TRL the need does not ask for": (replace(sent, offer=o.model_copy(update={"trl": 7})), False),
    }
    for name, (variant, expected) in variants.items():
        assert is_news(sent, variant) == expected == _news_as_read(sent, variant), name
    penalised = replace(sent, factor=0.7)
    assert not is_news(penalised, replace(penalised, factor=0.701)) and not _news_as_read(penalised,
                                                                                          replace(penalised, factor=0.701))
    assert is_news(penalised, replace(penalised, factor=0.6)) and _news_as_read(penalised, replace(penalised, factor=0.6))
    assert not is_news(replace(sent, prior=0.01, bound=0.025), replace(sent, prior=0.02, bound=0.025))  # the same direction: a figure


def test_an_update_that_only_ages_the_match_is_not_sent():
    engine = MatchEngine()
    engine.on_item(offer("o", en="radio beamforming", age_days=10), NOW)
    engine.on_item(need("n", en="radio beamforming", age_days=10), NOW)
    later = NOW + timedelta(days=1)  # freshness moves a little: its line's figure, not a fact
    assert engine.on_item(need("n", en="radio beamforming", age_days=10, version=2), later) == []
