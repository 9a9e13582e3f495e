"""1:1 meeting agendas for a session's slots and tables.

Greedy in a fixed order of priority, each pair going to the earliest slot where both people are
free and a table is left (the lowest free table):

1. with ``previous`` (a re-plan after late cancellations): every surviving meeting stays in its
   slot at its table — as few changes as possible;
2. must-meet requests, best match score first (those that cannot be placed are reported);
3. people still below the plan's minimum: first pairs of two such people, best score first, then
   each one left (by participant id) with their best-scoring partners who have room;
4. every other scored pair, highest score first (a "would like" request adds ``WOULD_LIKE_BONUS``).

Always: a declined pair never meets, nobody has two meetings in a slot, a table holds one
meeting per slot, nobody exceeds the maximum. All ties break on participant ids, so the same
input gives the same agenda.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from datetime import timedelta

from shared.events.matching import AgendaData, AgendaSlot, Meeting
from shared.events.sessions import MeetingPreference, MeetingPlan, RegistrationClosedData

WOULD_LIKE_BONUS = 0.25

Pair = tuple[str, str]


def _pair(a: str, b: str) -> Pair:
    return (a, b) if a < b else (b, a)


def agenda_slots(plan: MeetingPlan | None) -> list[AgendaSlot]:
    if plan is None:
        return []
    length = timedelta(minutes=plan.slot_minutes)
    return [AgendaSlot(index=i, starts_at=plan.first_slot_at + i * length,
                       ends_at=plan.first_slot_at + (i + 1) * length)
            for i in range(plan.slots)]


class _Board:
    """Who is busy when, which tables are free, and the meetings placed so far."""

    def __init__(self, plan: MeetingPlan, people: Iterable[str]):
        self.slots, self.max_meetings = plan.slots, min(plan.max_meetings, plan.slots)
        self.busy: dict[str, int] = {p: 0 for p in people}  # bit s set: busy in slot s
        self.count: dict[str, int] = dict.fromkeys(self.busy, 0)
        self.free_tables: list[list[int]] = [list(range(plan.tables)) for _ in range(plan.slots)]
        self.met: set[Pair] = set()
        self.meetings: list[tuple[int, int, Pair]] = []

    def can_meet(self, pair: Pair) -> bool:
        a, b = pair
        return (pair not in self.met and self.count[a] < self.max_meetings and self.count[b] < self.max_meetings)

    def place(self, pair: Pair) -> bool:
        if not self.can_meet(pair):
            return False
        both = self.busy[pair[0]] | self.busy[pair[1]]
        for slot in range(self.slots):
            if not both >> slot & 1 and self.free_tables[slot]:
                self._take(pair, slot, heapq.heappop(self.free_tables[slot]))
                return True
        return False

    def keep(self, pair: Pair, slot: int, table: int) -> bool:
        """Place a meeting exactly where it was, if that is still possible."""
        if (slot >= self.slots or not self.can_meet(pair) or (self.busy[pair[0]] | self.busy[pair[1]]) >> slot & 1
                or table not in self.free_tables[slot]):
            return False
        self.free_tables[slot].remove(table)
        heapq.heapify(self.free_tables[slot])
        self._take(pair, slot, table)
        return True

    def _take(self, pair: Pair, slot: int, table: int) -> None:
        for person in pair:
            self.busy[person] |= 1 << slot
            self.count[person] += 1
        self.met.add(pair)
        self.meetings.append((slot, table, pair))


def plan_agenda(closed: RegistrationClosedData, pair_scores: Mapping[frozenset[str], float],
                previous: AgendaData | None = None, *,
                match_ids: Mapping[frozenset[str], str] | None = None) -> AgendaData:
    """The session's agenda; ``pair_scores`` holds the match score of pairs of participant ids."""
    session, plan = closed.session, closed.session.meeting_plan
    people = sorted({r.participant_id for r in closed.registrants})
    registered = set(people)
    requests = [r for r in closed.meeting_requests
                if r.requester_id != r.target_id and {r.requester_id, r.target_id} <= registered]
    declined = {_pair(r.requester_id, r.target_id) for r in requests if r.preference is MeetingPreference.DECLINE}
    must_meet = {_pair(r.requester_id, r.target_id) for r in requests
                 if r.preference is MeetingPreference.MUST_MEET} - declined
    scores: dict[Pair, float] = {}
    for key, score in pair_scores.items():
        if len(key) == 2 and key <= registered:
            pair = _pair(*key)
            if pair not in declined:
                scores[pair] = max(0.0, score)
    for r in requests:
        pair = _pair(r.requester_id, r.target_id)
        if r.preference is MeetingPreference.WOULD_LIKE and pair not in declined:
            scores[pair] = scores.get(pair, 0.0) + WOULD_LIKE_BONUS

    version = previous.version + 1 if previous is not None else 1
    unplaced: list[Pair] = []
    board = None
    if plan is None:
        unplaced = sorted(must_meet)
    else:
        board = _Board(plan, people)
        if previous is not None:
            for meeting in sorted(previous.meetings, key=lambda m: (m.slot, m.table)):
                pair = _pair(*meeting.participant_ids)
                if set(pair) <= registered and pair not in declined:
                    board.keep(pair, meeting.slot, meeting.table)
        by_score = sorted(scores, key=lambda p: (-scores[p], p))
        for pair in sorted(must_meet, key=lambda p: (-scores.get(p, 0.0), p)):
            if pair not in board.met and not board.place(pair):
                unplaced.append(pair)
        _reach_minimum(board, people, plan.min_meetings, declined, scores, by_score)
        for pair in by_score:
            board.place(pair)

    ids = match_ids or {}
    meetings = [
        Meeting(slot=slot, table=table, participant_ids=pair, match_id=ids.get(frozenset(pair)),
                score=round(scores.get(pair, 0.0), 6), must_meet=pair in must_meet)
        for slot, table, pair in sorted(board.meetings if board else [])
    ]
    return AgendaData(session_id=session.id, version=version, slots=agenda_slots(plan), meetings=meetings,
                      unscheduled_must_meet=unplaced)


def _reach_minimum(board: _Board, people: list[str], minimum: int, declined: set[Pair],
                   scores: Mapping[Pair, float], by_score: list[Pair]) -> None:
    """Lift everyone below the minimum: first by pairing them with each other, then with anyone."""
    for pair in by_score:
        if board.count[pair[0]] < minimum and board.count[pair[1]] < minimum:
            board.place(pair)
    for person in people:
        if board.count[person] >= minimum:
            continue
        partners = sorted((other for other in people if other != person and _pair(person, other) not in declined),
                          key=lambda other: (-scores.get(_pair(person, other), 0.0), other))
        for other in partners:
            if board.count[person] >= minimum:
                break
            board.place(_pair(person, other))
