"""Deal-outcome priors in ranking: bounded, added only after every hard rule, never deciding
whether a pair is a match, shown as a score part; measured on the labelled set."""

import random

import pytest

from services.deals.domain.funnel import OUTCOME, match_keys
from services.matching.domain.engine import MatchEngine
from services.matching.domain.index import CandidateIndex, top_partners
from services.matching.domain.priors import ConversionPriors, keys_of
from services.matching.domain.explanation import render
from services.matching.domain.scoring import broken_rule, pair_score, score_pair
from services.matching.processor import Processor, State
from shared.events import new_event
from shared.events.deals import PRIOR_CAP, ConversionPriorData, prior_key
from shared.events.matching import MATCH_CREATED, MATCH_UPDATED
from shared.party_types import PartyType, Side
from tests.unit.matching.factories import NOW, item, need, offer
from tests.unit.matching.labelled import (
    PLAUSIBLE_PRIORS, engine_quality, forbidden, load, prior_keys, random_priors,
)
from tests.unit.matching.test_index import _random_items

KEY = "5G|university>enterprise"
BOUND = 0.025  # the most a prior moves a score in ranking: half (priors.WEIGHT) of the published PRIOR_CAP


def _priors(**by_key: float) -> ConversionPriors:
    priors = ConversionPriors()
    for key, prior in by_key.items():
        priors.set(key, prior)
    return priors


def test_the_key_is_the_one_the_deals_service_publishes():
    o, n = offer("o", fields=["5G.RAN", "EIT.AI"]), need("n", fields=["5G.RF"])
    deals_keys = {k.removeprefix(f"{OUTCOME}:") for k in match_keys(o.owner_party_type, n.owner_party_type,
                                                                     [*o.fields, *n.fields], [])
                  if k.startswith(f"{OUTCOME}:")}
    assert keys_of(o, n) == sorted(deals_keys) == ["5G|university>enterprise", "EIT|university>enterprise"]
    assert prior_key("5G", PartyType.UNIVERSITY, PartyType.ENTERPRISE) == KEY


def test_a_pair_gets_the_mean_prior_of_its_keys_a_key_unheard_of_counting_zero():
    o, n = offer("o", fields=["5G.RAN", "EIT.AI"]), need("n", fields=["5G.RF"])
    assert _priors().of(o, n) == 0.0
    assert _priors(**{KEY: 0.04}).of(o, n) == 0.01  # the mean of 0.04 and 0, weighted by half
    assert _priors(**{KEY: 0.04, "EIT|university>enterprise": -0.02}).of(o, n) == 0.005
    assert _priors(**{"5G|institute>enterprise": 0.05}).of(o, n) == 0.0  # another party pair
    assert _priors(**{KEY: 0.3}).of(offer("o"), need("n")) == BOUND  # bounded whatever it is told
    assert ConversionPriors().bound == BOUND == 0.5 * PRIOR_CAP


def test_without_a_prior_a_pair_is_scored_and_explained_as_before():
    o, n = offer("o", zh="射频芯片"), need("n", zh="射频芯片")
    plain = score_pair(o, n, now=NOW)
    other_key = score_pair(o, n, now=NOW, priors=_priors(**{"BIO|university>enterprise": 0.05}))
    assert plain == other_key
    assert plain.score == plain.content == pair_score(o, n, now=NOW)
    assert [f.name for f in render(plain).features] == ["field", "text", "trl", "amount", "region", "party",
                                                         "freshness"]


@pytest.mark.parametrize(("published", "prior", "value", "zh", "en"), [
    (0.03, 0.015, 0.8, "同领域同类型合作成交率较高，加 1.5 分",
     "Deals in this field and party pairing tend to sign: +1.5 points"),
    (-0.05, -0.025, 0.0, "同领域同类型合作成交率较低，减 2.5 分",
     "Deals in this field and party pairing seldom sign: −2.5 points"),
])
def test_a_prior_moves_the_score_and_is_a_score_part_and_a_line(published, prior, value, zh, en):
    o, n = offer("o", zh="射频芯片"), need("n", fields=["5G.OPT"], zh="射频芯片 光纤 天线")
    plain = render(score_pair(o, n, now=NOW))
    numbers = score_pair(o, n, now=NOW, priors=_priors(**{KEY: published}))
    scored = render(numbers)
    assert numbers.content == pair_score(o, n, now=NOW) < 1 - BOUND
    assert numbers.score == scored.score
    assert scored.score == round(numbers.content + prior, 6)
    assert scored.features[:-1] == plain.features
    part = scored.features[-1]
    assert (part.name, part.value, part.weight, part.contribution) == ("conversion", value, BOUND, prior)
    assert scored.explanation.zh == [*plain.explanation.zh, zh]
    assert scored.explanation.en == [*plain.explanation.en, en]


def test_a_prior_never_saves_a_pair_breaking_a_hard_rule():
    """Every forbidden pair of the labelled set (each breaks one rule) with the highest prior on
    all its keys is still not scored."""
    offers, needs, _ = load()
    by_id = {i.id: i for i in offers + needs}
    everything = _priors(**{key: PRIOR_CAP for key in prior_keys()})
    for need_id, offer_ids in forbidden().items():
        for offer_id in offer_ids:
            o, n = by_id[offer_id], by_id[need_id]
            assert everything.of(o, n) == BOUND
            assert score_pair(o, n, now=NOW, priors=everything) is None, (need_id, offer_id)
    # and a pair sharing a top-level field only, without content: the evidence rule
    o, n = offer("o", fields=["5G.RAN"], en="optical fibre amplifier"), need("n", fields=["5G.OPT"], en="antenna")
    assert broken_rule(o, n, NOW) is None
    assert score_pair(o, n, now=NOW, priors=everything) is None


def _engine(threshold: float, prior: float, *items) -> MatchEngine:
    engine = MatchEngine(threshold=threshold)
    engine.on_prior(KEY, prior, NOW)
    for i in items:
        engine.on_item(i, NOW)
    return engine


def test_a_prior_never_lifts_a_pair_over_the_threshold_nor_drops_one_below_it():
    o, n = offer("o", zh="射频芯片"), need("n", fields=["5G.OPT"], zh="射频芯片 光纤 天线")
    (plain,) = _engine(0.35, 0.0, o, n).matches()
    assert _engine(plain.score + 0.001, PRIOR_CAP, o, n).matches() == []  # the highest does not admit it
    kept = _engine(plain.score, -PRIOR_CAP, o, n).matches()  # content at the threshold: the lowest keeps it
    assert [(m.offer.item_id, m.score) for m in kept] == [("o", round(plain.score - BOUND, 6))]


def test_a_changed_prior_re_ranks_the_current_matches_of_its_key_only():
    n = need("n", fields=["5G.OPT"], zh="射频芯片 基站 天线 光纤")
    uni = offer("uni", fields=["5G.RAN"], zh="射频芯片 基站 天线", party=PartyType.UNIVERSITY)
    ent = offer("ent", fields=["5G.RAN"], zh="射频芯片 基站 天线 模组", party=PartyType.ENTERPRISE)
    engine = MatchEngine()
    for i in (uni, ent, n):
        engine.on_item(i, NOW)
    before = {m.offer.item_id: m.score for m in engine.matches_for("n")}
    assert list(before) == ["uni", "ent"] and before["uni"] - before["ent"] < 2 * BOUND

    changes = engine.on_prior("5G|enterprise>enterprise", PRIOR_CAP, NOW)
    assert [(c.event_type, c.data.offer.item_id, c.data.score) for c in changes] == [
        (MATCH_UPDATED, "ent", round(before["ent"] + BOUND, 6))]
    changes = engine.on_prior(KEY, -PRIOR_CAP, NOW)
    assert [(c.event_type, c.data.offer.item_id, c.data.score) for c in changes] == [
        (MATCH_UPDATED, "uni", round(before["uni"] - BOUND, 6))]
    assert [m.offer.item_id for m in engine.matches_for("n")] == ["ent", "uni"]
    assert engine.on_prior(KEY, -PRIOR_CAP, NOW) == []  # the same prior again: nothing
    assert [(c.data.offer.item_id, c.data.score) for c in engine.on_prior(KEY, 0.0, NOW)] == [
        ("uni", before["uni"])]  # back to none: the score and explanation of before
    assert [f.name for f in engine.match(engine.matches_for("n")[1].match_id).features][-1] == "freshness"


@pytest.mark.parametrize("seed", range(4))
def test_top_partners_with_priors_equal_a_full_scan(seed):
    """The index prunes by the most a prior can add: it still finds exactly what scoring every
    candidate (content score at the threshold, ranked with its prior) gives."""
    r = random.Random(seed)
    offers = _random_items(r, Side.OFFER, "o", 200)
    offers += [item(f"e{n}", Side.OFFER, fields=o.fields, en=o.title.en, party=PartyType.ENTERPRISE)
               for n, o in enumerate(offers[:60])]
    needs = _random_items(r, Side.NEED, "n", 10)
    index = CandidateIndex()
    for i in offers + needs:
        index.upsert(i)
    priors = _priors(**{prior_key(top, party, PartyType.ENTERPRISE): r.choice((-PRIOR_CAP, PRIOR_CAP, 0.02))
                        for top in ("5G", "IMFG", "BIO") for party in (PartyType.UNIVERSITY, PartyType.ENTERPRISE)})
    threshold, k = 0.3, r.randint(1, 8)
    for n in needs:
        scanned = sorted(((round(min(1.0, c + priors.of(o, n)), 6), o.id) for o in offers
                          if (c := pair_score(o, n, now=NOW, text=index.text)) is not None and c >= threshold),
                         key=lambda e: (-e[0], e[1]))[:k]
        found = [(s, o.id) for s, o in top_partners(index, n, k=k, now=NOW, threshold=threshold, priors=priors)]
        assert found == scanned


def test_the_processor_keeps_the_latest_prior_per_key_and_restores_with_it():
    state = State(items={}, participants={}, feedback={}, sessions={}, ledger={})
    processor = Processor(state)
    o, n = offer("o", zh="射频芯片"), need("n", fields=["5G.OPT"], zh="射频芯片 光纤 天线")

    def handle(event_type, data, position):
        batch = processor.new_batch()
        processor.handle(new_event(event_type, data, source="/tests"), batch, position)
        processor.commit(batch)
        return [(e.event.type, e.event.data.score) for e in batch.emissions if e.event.type.startswith("match.")]

    handle("listing.created.v1", o, 0)
    (created, content), = handle("demand.created.v1", n, 1)
    assert created == MATCH_CREATED

    def prior(value: float, version: int) -> ConversionPriorData:
        return ConversionPriorData(field="5G", offer_party_type=PartyType.UNIVERSITY,
                                   need_party_type=PartyType.ENTERPRISE, signed=6, closed={}, conversion=0.7,
                                   baseline=0.6, prior=value, version=version)

    assert handle("conversion.prior_updated.v1", prior(0.04, 2), 2) == [(MATCH_UPDATED, round(content + 0.02, 6))]
    assert handle("conversion.prior_updated.v1", prior(-0.05, 1), 3) == []  # an older version, late
    assert state.priors[KEY]["version"] == 2
    assert processor.restore().emissions == []  # rebuilt with the prior: the same match as sent
    assert processor.engine.priors.get(KEY) == 0.04


def test_with_plausible_priors_the_labelled_set_keeps_the_reached_figures():
    """The figures without priors (test_ranking_quality) with each plausible set, known before
    the items or arriving after them (bench/results/matching_priors.md)."""
    off = engine_quality()
    for name, priors in PLAUSIBLE_PRIORS.items():
        for after in (False, True):
            q = engine_quality(priors=priors, priors_after=after)
            assert q.forbidden_matched == 0, name
            assert (q.top1, q.top3) >= (off.top1, off.top3) and q.mrr >= off.mrr - 1e-9, (name, after, q)
            assert q.consortium_roles >= off.consortium_roles, (name, q)


@pytest.mark.parametrize("seed", range(3))
def test_no_prior_ever_matches_a_forbidden_pair_of_the_labelled_set(seed):
    assert engine_quality(priors=random_priors(seed)).forbidden_matched == 0
