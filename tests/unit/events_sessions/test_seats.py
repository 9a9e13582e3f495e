"""The seat rules on their own: waitlist order, quotas, promotion, close snapshot, check-in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.events_sessions.domain import rules, seats
from shared.domain_errors import Conflict, Forbidden, Invalid, NotFound
from services.events_sessions.domain.model import Session, SessionSpec
from shared.events.common import LocalizedText
from shared.events.sessions import Capacity, MeetingPreference, RegistrationStatus, Role
from shared.party_types import PartyType

T0 = datetime(2030, 5, 1, 9, tzinfo=UTC)
NOW = T0 - timedelta(days=5)


def _spec(**overrides) -> SessionSpec:
    values = dict(title=LocalizedText(zh="硬科技专场"), fields=["BIO"], city="CN-JS.SZ", high_tech_zone="SIP",
                  starts_at=T0, ends_at=T0 + timedelta(hours=6), registration_opens_at=T0 - timedelta(days=9),
                  registration_closes_at=T0 - timedelta(days=1), capacity=Capacity(presenters=1, attendees=2))
    return SessionSpec(**{**values, **overrides})


def _session(**overrides) -> Session:
    return seats.new_session(_spec(**overrides), session_id="s1", organiser_id="gov", now=NOW)[0]


def _register(session: Session, pid: str, party_type=PartyType.ENTERPRISE, role=Role.ATTENDEE, now=NOW) -> Session:
    _, change = seats.register(session, participant_id=pid, party_type=party_type, role=role, listing_ids=[],
                               interests=[], registration_id=f"r-{pid}", check_in_code=f"C{pid}", now=now)
    return seats.apply(session, change)


def _statuses(session: Session) -> list[tuple[str, str]]:
    return [(r.participant_id, r.status.value) for r in session.in_order()]


def test_seats_then_waitlist_in_arrival_order():
    session = _session()
    for pid in ("a", "b", "c", "d"):
        session = _register(session, pid)
    assert _statuses(session) == [("a", "confirmed"), ("b", "confirmed"), ("c", "waitlisted"), ("d", "waitlisted")]
    assert [seats.waitlist_position(session, r) for r in session.in_order()] == [None, None, 1, 2]
    with pytest.raises(Conflict, match="already registered"):
        _register(session, "a")


def test_cancel_promotes_the_head_and_emits_in_order():
    session = _session()
    for pid in ("a", "b", "c", "d"):
        session = _register(session, pid)
    change = seats.cancel(session, "b", NOW)
    assert [(t, d.participant_id) for t, d in change.events] == [
        ("registration.cancelled.v1", "b"), ("registration.promoted.v1", "c")]
    session = seats.apply(session, change)
    assert _statuses(session)[2:] == [("c", "confirmed"), ("d", "waitlisted")]
    assert change.events[1][1].waitlist_position is None
    with pytest.raises(NotFound):
        seats.cancel(session, "b", NOW)


def test_quota_skips_the_head_that_does_not_fit():
    session = _session(quotas={PartyType.INVESTOR: 1})
    for pid, party in (("i1", PartyType.INVESTOR), ("i2", PartyType.INVESTOR), ("e1", PartyType.ENTERPRISE),
                       ("e2", PartyType.ENTERPRISE)):
        session = _register(session, pid, party)
    assert _statuses(session) == [("i1", "confirmed"), ("i2", "waitlisted"), ("e1", "confirmed"),
                                  ("e2", "waitlisted")]
    session = seats.apply(session, seats.cancel(session, "e1", NOW))
    assert dict(_statuses(session))["e2"] == "confirmed" and dict(_statuses(session))["i2"] == "waitlisted"


def test_window_and_close_snapshot_keeps_only_seated_and_their_requests():
    session = _session()
    with pytest.raises(Conflict, match="opens at"):
        _register(session, "a", now=T0 - timedelta(days=10))
    for pid in ("a", "b", "c"):
        session = _register(session, pid)
    for requester, target, pref in (("a", "b", MeetingPreference.MUST_MEET), ("a", "c", MeetingPreference.DECLINE)):
        _, change = seats.request_meeting(session, requester_id=requester, target_id=target, preference=pref, now=NOW)
        session = seats.apply(session, change)
    for pref in MeetingPreference:  # c is waitlisted: no request of theirs could take effect
        with pytest.raises(Conflict, match="on the waitlist"):
            seats.request_meeting(session, requester_id="c", target_id="a", preference=pref, now=NOW)
    change = seats.close(session, NOW)
    (kind, snapshot), = change.events
    assert kind == "session.registration_closed.v1" and snapshot.session.registration_open is False
    assert [r.participant_id for r in snapshot.registrants] == ["a", "b"]
    assert [(m.requester_id, m.target_id) for m in snapshot.meeting_requests] == [("a", "b")]
    closed = seats.apply(session, change)
    with pytest.raises(Conflict, match="closed"):
        _register(closed, "z")
    with pytest.raises(Conflict, match="already closed"):
        seats.close(closed, NOW)


def test_check_in_and_no_shows():
    session = _register(_register(_register(_session(), "a"), "b"), "c")
    with pytest.raises(Conflict, match="cannot check in"):
        seats.check_in(session, "Cc", T0)
    checked, change = seats.check_in(session, "Ca", T0)
    session = seats.apply(session, change)
    assert checked.status is RegistrationStatus.CHECKED_IN
    with pytest.raises(Conflict, match="after the session starts"):
        seats.mark_no_shows(session, T0 - timedelta(minutes=1))
    change = seats.mark_no_shows(session, T0 + timedelta(minutes=5))
    assert [d.participant_id for _, d in change.events] == ["b"]


def test_session_rules_name_every_bad_field():
    spec = _spec(ends_at=T0 - timedelta(hours=1), registration_closes_at=T0 + timedelta(hours=1),
                 high_tech_zone="ZGC", fields=["BIO", "NOPE"])
    with pytest.raises(Invalid) as caught:
        rules.validate_session(spec, NOW)
    assert {p.loc for p in caught.value.problems} == {("ends_at",), ("registration_closes_at",), ("high_tech_zone",),
                                                      ("fields", 1)}
    with pytest.raises(Forbidden):
        rules.ensure_organiser_of(_session(), "someone-else", is_operator=False)
    rules.ensure_organiser_of(_session(), "someone-else", is_operator=True)
