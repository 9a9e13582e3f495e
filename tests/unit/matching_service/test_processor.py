"""The service's use cases around the domain: replay-safe outputs with stable ids, recovery
after a crash between a state change and its output, consortia, feedback and agendas."""

from __future__ import annotations

import copy
import itertools
from datetime import UTC, datetime, timedelta

from services.matching.domain.consortium import consortium_is_news
from services.matching.ledger import Batch
from services.matching.processor import Processor, State
from shared.events import CloudEvent, EventData, new_event
from shared.events.common import LocalizedText
from shared.events.listing import ItemData, ItemStatus, ParticipantData
from shared.events.matching import DeclineReason, FeedbackDecision, MatchFeedbackData
from shared.events.matching import match_id as match_id_of
from shared.events.sessions import (
    Capacity, MeetingPlan, Registrant, RegistrationClosedData, RegistrationData, RegistrationStatus, Role, SessionData,
)
from shared.party_types import Kind, PartyType
from tests.unit.matching.factories import NOW, need, offer

T0 = NOW


def _state() -> State:
    return State(items={}, participants={}, feedback={}, sessions={}, ledger={})


def _event(type_name: str, data: EventData, at: datetime = T0) -> CloudEvent:
    return new_event(type_name, data, source="/tests").model_copy(update={"time": at})


def _participant(pid: str, party: PartyType, zh: str, en: str) -> ParticipantData:
    return ParticipantData(id=pid, party_type=party, organisation=LocalizedText(zh=zh, en=en),
                           display_name=LocalizedText(zh=zh), region="CN-SC.CD")


def _item_event(item: ItemData | ParticipantData, at: datetime = T0) -> CloudEvent:
    if isinstance(item, ParticipantData):
        return _event("participant.registered.v1", item, at)
    verb = "created" if item.status is ItemStatus.OPEN else "withdrawn"
    return _event(f"{'listing' if item.side == 'offer' else 'demand'}.{verb}.v1", item, at)


_positions = itertools.count()


def _run(processor: Processor, *events: CloudEvent, commit: bool = True) -> Batch:
    batch = processor.new_batch()
    for event in events:
        processor.handle(event, batch, next(_positions))
    processor.finish(batch)
    if commit:
        processor.commit(batch)
    return batch


RADIO = dict(fields=["5G.RAN"], zh="毫米波基站射频芯片", en="mmWave base-station RF chip", trl=6)
TECH_OFFER = offer("o1", owner="uni", **RADIO)
TECH_NEED = need("n1", owner="ent", fields=["5G.RAN"], zh="寻求毫米波射频芯片", en="need mmWave RF chip", trl=5)
CAPITAL_OFFER = offer("o-cap", kind=Kind.CAPITAL, owner="vc", fields=["5G.RAN"], zh="5G射频芯片早期投资",
                      en="early-stage investment in 5G RF chips", amount=(1e6, 5e6))
CAPITAL_NEED = need("n-cap", kind=Kind.CAPITAL, owner="ent", fields=["5G.RAN"], zh="射频芯片融资",
                    en="funding for RF chip production", amount=(2e6, 3e6))


def _types(batch: Batch) -> list[str]:
    return [e.event.type for e in batch.emissions]


def test_a_new_offer_and_need_make_one_match_and_a_repeat_makes_nothing():
    processor = Processor(_state())
    first = _run(processor, _item_event(TECH_OFFER), _item_event(TECH_NEED))
    assert _types(first) == ["match.created.v1"]  # no support offer in the market: no consortium
    match = first.emissions[0].event
    assert match.data.explanation.zh and match.data.explanation.en and match.data.features
    assert first.emissions[0].key == match.data.match_id
    again = _run(processor, _item_event(TECH_OFFER), _item_event(TECH_NEED))
    assert again.emissions == []


def test_a_replay_from_the_start_gives_the_same_event_ids():
    events = [_item_event(TECH_OFFER), _item_event(TECH_NEED), _item_event(CAPITAL_OFFER),
              _item_event(CAPITAL_NEED), _item_event(TECH_NEED.model_copy(update={"status": ItemStatus.WITHDRAWN,
                                                                                  "version": 2}))]
    runs = []
    for _ in range(2):
        processor = Processor(_state())
        runs.append([(e.event.type, e.event.id) for ev in events for e in _run(processor, ev).emissions])
    assert runs[0] == runs[1]
    assert len({event_id for _, event_id in runs[0]}) == len(runs[0])
    assert ("match.retracted.v1" in {t for t, _ in runs[0]}) and ("consortium.retracted.v1" in {t for t, _ in runs[0]})


def test_outputs_lost_in_a_crash_are_emitted_again_with_the_same_ids_on_restore():
    state = _state()
    processor = Processor(state)
    _run(processor, _item_event(TECH_OFFER))
    lost = _run(processor, _item_event(TECH_NEED), commit=False)  # state changed, outputs never acknowledged
    assert lost.emissions
    restarted = Processor(state)
    recovered = restarted.restore()
    assert [(e.event.type, e.event.id) for e in recovered.emissions] == [(e.event.type, e.event.id)
                                                                          for e in lost.emissions]
    restarted.commit(recovered)
    assert Processor(state).restore().emissions == []


def test_a_restart_restores_matches_and_declines_emits_nothing_and_continues_like_the_original():
    state = _state()
    original = Processor(state)
    second_offer = offer("o2", owner="uni2", fields=["5G.RAN"], zh="基站射频芯片", en="base-station RF chip")
    _run(original, _item_event(TECH_OFFER), _item_event(second_offer), _item_event(TECH_NEED))
    declined = original.engine.match(match_id_of("o2", "n1"))
    assert declined is not None
    _run(original, _event("match.feedback_given.v1", MatchFeedbackData(
        match_id=declined.match_id, participant_id="ent", decision=FeedbackDecision.DECLINE,
        reason=DeclineReason.NO_CLEAR_BENEFIT), T0 + timedelta(minutes=1)))

    restarted = Processor(copy.deepcopy(state))  # the tables as recovered on another start
    assert restarted.restore().emissions == []
    assert restarted.engine.declined_by(declined.match_id) == {"ent"}
    assert restarted.engine.matches() == original.engine.matches()
    third_offer = _item_event(offer("o3", owner="uni3", fields=["5G.RAN"], zh="毫米波基站射频芯片", en="RF chip"))
    assert ([(e.event.type, e.event.id, e.event.data) for e in _run(restarted, third_offer).emissions]
            == [(e.event.type, e.event.id, e.event.data) for e in _run(original, third_offer).emissions])


def test_a_capital_offer_of_the_market_fills_the_consortium_and_its_withdrawal_retracts_it():
    processor = Processor(_state())
    _run(processor, _item_event(_participant("vc", PartyType.INVESTOR, "蓉创投资", "Rongchuang Capital")))
    _run(processor, _item_event(TECH_OFFER), _item_event(TECH_NEED))
    with_capital = _run(processor, _item_event(CAPITAL_OFFER))  # nobody posted a capital need
    assert _types(with_capital) == ["consortium.proposed.v1"]
    consortium = with_capital.emissions[-1].event.data
    assert [(m.role.value, m.participant_id) for m in consortium.members][2:] == [("capital", "vc")]
    assert consortium.members[2].organisation.en == "Rongchuang Capital"
    assert [r.value for r in consortium.missing_roles] == ["service", "policy"]
    matched = _run(processor, _item_event(CAPITAL_NEED))  # now a match of a party's need: it counts
    assert _types(matched) == ["match.created.v1", "consortium.updated.v1"]
    assert matched.emissions[-1].event.data.members[2].match_id == matched.emissions[0].event.data.match_id
    withdrawn = CAPITAL_OFFER.model_copy(update={"status": ItemStatus.WITHDRAWN, "version": 2})
    lost = _run(processor, _item_event(withdrawn))
    assert _types(lost) == ["match.retracted.v1", "consortium.retracted.v1"]  # no support role left
    assert lost.emissions[0].event.data.reason.value == "offer_withdrawn"


def test_a_technology_match_pushed_out_of_its_needs_best_three_loses_its_consortium():
    """o2, o3, o4 (fewer shared words) hold the need's best three and have teams. o1 comes later
    and ranks first: one consortium for it, and o4's (now fourth) is retracted with the reason."""
    processor = Processor(_state())
    _run(processor, _item_event(CAPITAL_OFFER), _item_event(TECH_NEED))
    weaker = [offer(f"o{n}", owner=f"lab{n}", fields=["5G.RAN"], zh="射频芯片", en="RF chip", trl=6) for n in (2, 3, 4)]
    assert _types(_run(processor, *map(_item_event, weaker))) == ["match.created.v1"] * 3 + ["consortium.proposed.v1"] * 3
    later = _run(processor, _item_event(TECH_OFFER))
    assert sorted(_types(later)) == ["consortium.proposed.v1", "consortium.retracted.v1", "match.created.v1"]
    [proposed] = [e.event.data for e in later.emissions if e.event.type == "consortium.proposed.v1"]
    [retracted] = [e.event.data for e in later.emissions if e.event.type == "consortium.retracted.v1"]
    assert proposed.technology_match_id == match_id_of("o1", "n1")
    assert (retracted.technology_match_id, retracted.reason) == (
        match_id_of("o4", "n1"), "not among the need's best 3 technology matches")


def test_a_decline_retracts_for_the_decliner_once():
    processor = Processor(_state())
    created = _run(processor, _item_event(TECH_OFFER), _item_event(TECH_NEED))
    match_id = created.emissions[0].event.data.match_id
    decline = _event("match.feedback_given.v1", MatchFeedbackData(
        match_id=match_id, participant_id="ent", decision=FeedbackDecision.DECLINE,
        reason=DeclineReason.TOO_EARLY), T0 + timedelta(minutes=1))
    first = _run(processor, decline)
    retractions = [e.event for e in first.emissions if e.event.type == "match.retracted.v1"]
    assert [(r.data.for_participant, r.data.reason.value) for r in retractions] == [("ent", "declined")]
    assert retractions[0].id not in {e.event.id for e in created.emissions}
    assert _run(processor, decline).emissions == []


def _closed(registrants: list[str]) -> RegistrationClosedData:
    start = datetime(2026, 7, 1, 9, tzinfo=UTC)
    session = SessionData(
        id="s1", organiser_id="gov", title=LocalizedText(zh="5G专场"), fields=["5G"], city="CN-SC.CD",
        starts_at=start, ends_at=start + timedelta(hours=8), registration_opens_at=start - timedelta(days=30),
        registration_closes_at=start - timedelta(days=1), capacity=Capacity(presenters=10, attendees=10),
        meeting_plan=MeetingPlan(first_slot_at=start, slot_minutes=20, slots=3, tables=2, max_meetings=3))
    return RegistrationClosedData(session=session, registrants=[
        Registrant(registration_id=f"r-{p}", participant_id=p, party_type=PartyType.ENTERPRISE, role=Role.ATTENDEE)
        for p in registrants])


def test_registration_closed_publishes_an_agenda_and_a_late_cancellation_updates_it():
    processor = Processor(_state())
    _run(processor, _item_event(TECH_OFFER), _item_event(TECH_NEED), _item_event(CAPITAL_OFFER),
         _item_event(CAPITAL_NEED))
    closed = _event("session.registration_closed.v1", _closed(["uni", "ent", "vc"]))
    published = _run(processor, closed)
    assert _types(published) == ["agenda.published.v1"]
    agenda = published.emissions[0].event.data
    assert {frozenset(m.participant_ids) for m in agenda.meetings} == {frozenset({"uni", "ent"}),
                                                                        frozenset({"vc", "ent"})}
    assert all(m.match_id for m in agenda.meetings)
    assert _run(processor, closed).emissions == []
    cancel = _event("registration.cancelled.v1", RegistrationData(
        session_id="s1", registration_id="r-vc", participant_id="vc", party_type=PartyType.INVESTOR,
        role=Role.ATTENDEE, status=RegistrationStatus.CANCELLED, sequence=3))
    updated = _run(processor, cancel)
    assert _types(updated) == ["agenda.updated.v1"]
    replanned = updated.emissions[0].event.data
    assert replanned.version == 2
    kept = [m for m in agenda.meetings if "vc" not in m.participant_ids]
    assert [(m.slot, m.table, m.participant_ids) for m in replanned.meetings] == [
        (m.slot, m.table, m.participant_ids) for m in kept]


def test_consortia_deferred_while_a_backlog_is_worked_off_are_sent_once_when_settled():
    processor = Processor(_state())
    deferred = processor.new_batch()
    for event in (_item_event(TECH_OFFER), _item_event(TECH_NEED), _item_event(CAPITAL_OFFER),
                  _item_event(CAPITAL_NEED)):
        processor.handle(event, deferred, next(_positions))
    processor.finish(deferred, settle_consortia=False)
    assert _types(deferred) == ["match.created.v1", "match.created.v1"]  # technology, capital
    processor.commit(deferred)
    settled = _run(processor)
    assert _types(settled) == ["consortium.proposed.v1"]
    assert [r.value for r in settled.emissions[0].event.data.missing_roles] == ["service", "policy"]


def test_a_consortium_counts_as_changed_only_for_another_team_or_a_material_score_move():
    processor = Processor(_state())
    proposed = _run(processor, _item_event(TECH_OFFER), _item_event(TECH_NEED),
                    _item_event(CAPITAL_OFFER)).emissions[-1].event.data
    sent = proposed.model_dump(mode="json")
    drifted = [m.model_copy(update={"score": 0.5}) for m in proposed.members]
    assert not consortium_is_news(sent, proposed.model_copy(update={"members": drifted,
                                                                     "score": proposed.score + 0.009}))
    assert consortium_is_news(sent, proposed.model_copy(update={"score": proposed.score + 0.011}))
    other_seeker = [proposed.members[0], proposed.members[1].model_copy(update={"participant_id": "other"}),
                    *proposed.members[2:]]
    assert consortium_is_news(sent, proposed.model_copy(update={"members": other_seeker}))
    assert consortium_is_news(sent, proposed.model_copy(update={"missing_roles": proposed.missing_roles[1:]}))


def test_a_member_registering_later_is_named_in_its_consortium():
    processor = Processor(_state())
    proposed = _run(processor, _item_event(TECH_OFFER), _item_event(TECH_NEED), _item_event(CAPITAL_OFFER))
    assert proposed.emissions[-1].event.data.members[2].organisation is None
    named = _run(processor, _item_event(_participant("vc", PartyType.INVESTOR, "蓉创投资", "Rongchuang Capital")))
    assert _types(named) == ["consortium.updated.v1"]
    assert named.emissions[0].event.data.members[2].organisation.zh == "蓉创投资"


def test_a_technology_match_declined_by_both_sides_loses_its_consortium():
    """Each decline is sent to its decliner only; once both sides declined, the match is gone from
    the engine, and its consortium is retracted rather than left standing around no match."""
    processor = Processor(_state())
    _run(processor, _item_event(TECH_OFFER), _item_event(TECH_NEED), _item_event(CAPITAL_OFFER))
    tech = match_id_of("o1", "n1")

    def decline(participant: str) -> CloudEvent:
        return _event("match.feedback_given.v1", MatchFeedbackData(
            match_id=tech, participant_id=participant, decision=FeedbackDecision.DECLINE,
            reason=DeclineReason.NOT_OUR_FIELD))

    # for "ent" only, then re-scored with its decline's penalty: the team stays, its score moved
    first = _run(processor, decline("ent"))
    assert _types(first) == ["match.retracted.v1", "match.updated.v1", "consortium.updated.v1"]
    both = _run(processor, decline("uni"))
    assert _types(both) == ["match.retracted.v1", "consortium.retracted.v1"]
    assert both.emissions[0].event.data.for_participant == "uni"
    assert both.emissions[1].event.data.reason == "technology match retracted"
