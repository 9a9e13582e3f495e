from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.events.common import LocalizedText
from shared.events.sessions import (
    Capacity, MeetingPlan, MeetingPreference, MeetingRequestData, Registrant, RegistrationClosedData, Role,
    SessionData,
)
from shared.party_types import PartyType

from services.matching.domain.scheduler import plan_agenda
from tests.unit.matching.factories import NOW


def closed(people: list[str], *, slots=4, tables=3, min_meetings=0, max_meetings=6,
           requests: list[tuple[str, str, MeetingPreference]] = ()) -> RegistrationClosedData:
    session = SessionData(
        id="s1", organiser_id="gov", title=LocalizedText(zh="直通车"), fields=["5G"], city="CN-SC.CD",
        starts_at=NOW, ends_at=NOW, registration_opens_at=NOW, registration_closes_at=NOW,
        capacity=Capacity(presenters=50, attendees=500),
        meeting_plan=MeetingPlan(first_slot_at=NOW, slot_minutes=15, slots=slots, tables=tables,
                                 min_meetings=min_meetings, max_meetings=max_meetings))
    return RegistrationClosedData(
        session=session,
        registrants=[Registrant(registration_id=f"r-{p}", participant_id=p, party_type=PartyType.ENTERPRISE,
                                role=Role.ATTENDEE) for p in people],
        meeting_requests=[MeetingRequestData(session_id="s1", requester_id=a, target_id=b, preference=pref)
                          for a, b, pref in requests])


def check_constraints(data: RegistrationClosedData, agenda) -> None:
    plan = data.session.meeting_plan
    people = {r.participant_id for r in data.registrants}
    declined = {frozenset((r.requester_id, r.target_id)) for r in data.meeting_requests
                if r.preference is MeetingPreference.DECLINE}
    must = {frozenset((r.requester_id, r.target_id)) for r in data.meeting_requests
            if r.preference is MeetingPreference.MUST_MEET and r.requester_id != r.target_id
            and {r.requester_id, r.target_id} <= people} - declined
    per_slot_person, per_slot_table, count, pairs = Counter(), Counter(), Counter(), Counter()
    for m in agenda.meetings:
        pair = frozenset(m.participant_ids)
        assert len(pair) == 2 and pair <= people and pair not in declined
        assert 0 <= m.slot < plan.slots and 0 <= m.table < plan.tables
        per_slot_table[m.slot, m.table] += 1
        pairs[pair] += 1
        for p in pair:
            per_slot_person[m.slot, p] += 1
            count[p] += 1
    assert max(per_slot_person.values(), default=0) <= 1
    assert max(per_slot_table.values(), default=0) <= 1
    assert max(count.values(), default=0) <= plan.max_meetings
    assert max(pairs.values(), default=0) <= 1
    scheduled = set(pairs)
    assert must <= scheduled | {frozenset(p) for p in agenda.unscheduled_must_meet}
    assert not scheduled & {frozenset(p) for p in agenda.unscheduled_must_meet}


def test_must_meet_first_then_highest_scores():
    data = closed(["a", "b", "c", "d"], slots=1, tables=1,
                  requests=[("c", "d", MeetingPreference.MUST_MEET)])
    agenda = plan_agenda(data, {frozenset("ab"): 0.9, frozenset("cd"): 0.1})
    assert [m.participant_ids for m in agenda.meetings] == [("c", "d")]
    assert agenda.meetings[0].must_meet and agenda.version == 1
    assert len(agenda.slots) == 1 and agenda.session_id == "s1"


def test_declines_never_meet_even_when_must_meet_is_asked():
    data = closed(["a", "b"], requests=[("a", "b", MeetingPreference.MUST_MEET), ("b", "a", MeetingPreference.DECLINE)])
    assert plan_agenda(data, {frozenset("ab"): 1.0}).meetings == []


def test_the_minimum_is_reached_before_more_meetings_for_the_popular():
    data = closed(["a", "b", "c", "d"], slots=2, tables=1, min_meetings=1, max_meetings=2)
    scores = {frozenset("ab"): 0.9, frozenset("ac"): 0.8, frozenset("cd"): 0.1}
    agenda = plan_agenda(data, scores)
    assert sorted(m.participant_ids for m in agenda.meetings) == [("a", "b"), ("c", "d")]
    without_minimum = plan_agenda(closed(["a", "b", "c", "d"], slots=2, tables=1, max_meetings=2), scores)
    assert sorted(m.participant_ids for m in without_minimum.meetings) == [("a", "b"), ("a", "c")]


def test_a_replan_keeps_surviving_meetings_in_place():
    people = [f"p{n}" for n in range(12)]
    scores = {frozenset((a, b)): (hash((a, b)) % 100) / 100 for a in people for b in people if a < b}
    data = closed(people, slots=4, tables=3)
    first = plan_agenda(data, scores)
    after = closed([p for p in people if p != "p3"], slots=4, tables=3)
    second = plan_agenda(after, scores, previous=first)
    assert second.version == 2
    kept = {(m.slot, m.table, m.participant_ids) for m in first.meetings if "p3" not in m.participant_ids}
    assert kept <= {(m.slot, m.table, m.participant_ids) for m in second.meetings}
    check_constraints(after, second)


def test_three_hundred_registrants_twelve_slots_forty_tables():
    people = [f"p{n:03d}" for n in range(300)]
    scores = {frozenset((a, b)): ((i * 7919 + j * 104729) % 1000) / 1000
              for i, a in enumerate(people) for j, b in enumerate(people) if a < b and (i + j) % 3 == 0}
    data = closed(people, slots=12, tables=40, min_meetings=2, max_meetings=6)
    agenda = plan_agenda(data, scores)
    assert len(agenda.meetings) == 12 * 40  # every table used in every slot
    check_constraints(data, agenda)
    assert agenda == plan_agenda(data, scores)


_PEOPLE = [f"p{n}" for n in range(10)]


@st.composite
def _sessions(draw):
    people = draw(st.lists(st.sampled_from(_PEOPLE), min_size=2, max_size=10, unique=True))
    pairs = [(a, b) for a in people for b in people if a < b]
    scores = {frozenset(p): draw(st.floats(0, 1)) for p in draw(st.lists(st.sampled_from(pairs), unique=True))}
    requests = draw(st.lists(st.tuples(st.sampled_from(people), st.sampled_from(people),
                                       st.sampled_from(list(MeetingPreference))), max_size=12))
    max_meetings = draw(st.integers(1, 5))
    data = closed(people, slots=draw(st.integers(1, 5)), tables=draw(st.integers(1, 4)),
                  min_meetings=draw(st.integers(0, max_meetings)), max_meetings=max_meetings, requests=requests)
    return data, scores


@settings(max_examples=150, deadline=None)
@given(_sessions(), st.data())
def test_constraints_always_hold_and_replans_keep_what_survives(session, draw):
    data, scores = session
    agenda = plan_agenda(data, scores)
    check_constraints(data, agenda)
    assert agenda == plan_agenda(data, scores)
    cancelled = set(draw.draw(st.lists(st.sampled_from([r.participant_id for r in data.registrants]), max_size=3)))
    remaining = data.model_copy(update={"registrants": [r for r in data.registrants
                                                       if r.participant_id not in cancelled]})
    replanned = plan_agenda(remaining, scores, previous=agenda)
    check_constraints(remaining, replanned)
    assert replanned.version == agenda.version + 1
    survivors = {(m.slot, m.table, m.participant_ids) for m in agenda.meetings
                 if not cancelled & set(m.participant_ids)}
    assert survivors <= {(m.slot, m.table, m.participant_ids) for m in replanned.meetings}
