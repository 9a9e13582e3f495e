"""Every change to a session, decided on one consistent state: the new registrations and
fields to write, and the events that the same write stages in the session's outbox.

Seats are held by confirmed, checked-in and no-show registrations; a registration that finds no
seat for its role (or no room in its party type's quota) joins the waitlist, and every change
that frees a seat promotes the first waitlisted registrations that fit, in arrival order.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from shared.events.envelope import EventData
from shared.events.sessions import (
    MeetingPreference,
    MeetingRequestData,
    Registrant,
    RegistrationClosedData,
    RegistrationData,
    RegistrationStatus,
    Role,
    SessionData,
)
from shared.party_types import PartyType
from shared.domain_errors import Conflict, Invalid, NotFound, Problem
from services.events_sessions.domain.model import (
    SEATED,
    MeetingRequest,
    Registration,
    Session,
    SessionSpec,
    meeting_key,
    participant_key,
)
from services.events_sessions.domain.rules import ensure_accepting, validate_session


@dataclass
class Change:
    """What one write does to a session document, and the events it publishes (in order).
    ``fields`` hold the session's new top-level values (models, not dicts)."""

    registrations: dict[str, Registration] = field(default_factory=dict)
    meeting_requests: dict[str, MeetingRequest] = field(default_factory=dict)
    fields: dict[str, Any] = field(default_factory=dict)
    events: list[tuple[str, EventData]] = field(default_factory=list)
    new_participant: str | None = None


def apply(session: Session, change: Change) -> Session:
    return session.model_copy(update={
        **change.fields,
        "registrations": {**session.registrations, **change.registrations},
        "meeting_requests": {**session.meeting_requests, **change.meeting_requests},
    })


@dataclass(frozen=True)
class SeatCounts:
    seated: Counter[Role]
    seated_by_party: Counter[PartyType]
    waitlisted: Counter[Role]

    def as_document(self) -> dict[str, Any]:
        return {"confirmed": {r.value: self.seated[r] for r in Role},
                "waitlisted": {r.value: self.waitlisted[r] for r in Role}}


def seat_counts(session: Session) -> SeatCounts:
    seated = [r for r in session.registrations.values() if r.status in SEATED]
    return SeatCounts(Counter(r.role for r in seated), Counter(r.party_type for r in seated),
                      Counter(r.role for r in session.registrations.values()
                              if r.status is RegistrationStatus.WAITLISTED))


def _has_seat(session: Session, counts: SeatCounts, role: Role, party_type: PartyType) -> bool:
    quota = session.quotas.get(party_type)
    return (counts.seated[role] < session.capacity_of(role)
            and (quota is None or counts.seated_by_party[party_type] < quota))


def waitlist_position(session: Session, registration: Registration) -> int | None:
    if registration.status is not RegistrationStatus.WAITLISTED:
        return None
    return 1 + sum(1 for r in session.registrations.values()
                   if r.role is registration.role and r.status is RegistrationStatus.WAITLISTED
                   and r.sequence < registration.sequence)


def registration_data(session: Session, registration: Registration) -> RegistrationData:
    return RegistrationData(
        session_id=session.id, registration_id=registration.registration_id,
        participant_id=registration.participant_id, party_type=registration.party_type, role=registration.role,
        listing_ids=registration.listing_ids, interests=registration.interests, status=registration.status,
        waitlist_position=waitlist_position(session, registration), sequence=registration.sequence)


def session_data(session: Session) -> SessionData:
    return SessionData.model_validate(session.model_dump(include=set(SessionData.model_fields)))


def new_session(spec: SessionSpec, *, session_id: str, organiser_id: str, now: datetime) -> tuple[Session, Change]:
    validate_session(spec, now)
    session = Session(**spec.model_dump(), id=session_id, organiser_id=organiser_id, created_at=now)
    return session, Change(events=[("session.created.v1", session_data(session))])


def update_session(session: Session, changes: dict[str, Any], now: datetime) -> Change:
    """Change what the organiser stated; seats a larger capacity frees go to the waitlist."""
    try:
        spec = SessionSpec.model_validate({**session.model_dump(include=set(SessionSpec.model_fields)), **changes})
    except ValidationError as exc:
        raise Invalid([Problem(tuple(e["loc"]), e["msg"]) for e in exc.errors()]) from None
    validate_session(spec, now, new_deadline="registration_closes_at" in changes)
    counts = seat_counts(session)
    problems = [Problem(("capacity", f"{role.value}s"),
                        f"below the {counts.seated[role]} seats already taken / 少于已确认人数")
                for role in Role if getattr(spec.capacity, f"{role.value}s") < counts.seated[role]]
    if problems:
        raise Invalid(problems)
    fields = {name: getattr(spec, name) for name in SessionSpec.model_fields} | {"version": session.version + 1}
    updated = session.model_copy(update=fields)
    change = Change(fields=fields, events=[("session.updated.v1", session_data(updated))])
    return _with_promotions(session, change, now)


def register(session: Session, *, participant_id: str, party_type: PartyType, role: Role,
             listing_ids: list[str], interests: list[str], registration_id: str, check_in_code: str,
             now: datetime) -> tuple[Registration, Change]:
    ensure_accepting(session, now)
    existing = session.active_registration_of(participant_id)
    if existing is not None:
        raise Conflict(f"already registered for this session ({existing.status.value}) / 已报名")
    seated = _has_seat(session, seat_counts(session), role, party_type)
    registration = Registration(
        registration_id=registration_id, participant_id=participant_id, party_type=party_type, role=role,
        listing_ids=listing_ids, interests=interests, sequence=session.sequence + 1, check_in_code=check_in_code,
        status=RegistrationStatus.CONFIRMED if seated else RegistrationStatus.WAITLISTED,
        registered_at=now, updated_at=now)
    change = Change(registrations={participant_key(participant_id): registration},
                    fields={"sequence": registration.sequence}, new_participant=participant_id)
    after = apply(session, change)
    kind = "confirmed" if seated else "waitlisted"
    change.events.append((f"registration.{kind}.v1", registration_data(after, registration)))
    return registration, change


def _set_status(registration: Registration, status: RegistrationStatus, now: datetime) -> Registration:
    return registration.model_copy(update={"status": status, "updated_at": now})


def cancel(session: Session, participant_id: str, now: datetime) -> Change:
    registration = session.active_registration_of(participant_id)
    if registration is None:
        raise NotFound("you have no active registration for this session / 您未报名该活动")
    if registration.status not in (RegistrationStatus.CONFIRMED, RegistrationStatus.WAITLISTED):
        raise Conflict(f"a registration that is {registration.status.value} cannot be cancelled "
                       "/ 已签到或缺席，不能取消")
    if now >= session.starts_at:
        raise Conflict("the session has started / 活动已开始")
    cancelled = _set_status(registration, RegistrationStatus.CANCELLED, now)
    change = Change(registrations={participant_key(participant_id): cancelled})
    change.events.append(("registration.cancelled.v1", registration_data(apply(session, change), cancelled)))
    return _with_promotions(session, change, now)


def _with_promotions(session: Session, change: Change, now: datetime) -> Change:
    """Add to ``change`` the promotion of every waitlisted registration that now fits, in order."""
    if now >= session.starts_at:
        return change
    state = apply(session, change)
    counts = seat_counts(state)
    for waiting in state.in_order():
        if (waiting.status is RegistrationStatus.WAITLISTED
                and _has_seat(state, counts, waiting.role, waiting.party_type)):
            counts.seated[waiting.role] += 1
            counts.seated_by_party[waiting.party_type] += 1
            change.registrations[participant_key(waiting.participant_id)] = _set_status(
                waiting, RegistrationStatus.CONFIRMED, now)
    promoted = [r for r in change.registrations.values()
                if r.status is RegistrationStatus.CONFIRMED
                and session.registrations[participant_key(r.participant_id)].status is RegistrationStatus.WAITLISTED]
    final = apply(session, change)
    for registration in sorted(promoted, key=lambda r: r.sequence):
        change.events.append(("registration.promoted.v1", registration_data(final, registration)))
    return change


def close(session: Session, now: datetime) -> Change:
    """Close registration and publish the snapshot the agenda planner works from."""
    if not session.registration_open:
        raise Conflict("registration is already closed / 报名已截止")
    closed = session.model_copy(update={"registration_open": False, "version": session.version + 1})
    seated = [r for r in closed.in_order() if r.status in SEATED]
    seated_ids = {r.participant_id for r in seated}
    requests = [MeetingRequestData(session_id=session.id, requester_id=m.requester_id, target_id=m.target_id,
                                   preference=m.preference)
                for m in sorted(session.meeting_requests.values(), key=lambda m: (m.requested_at, m.requester_id))
                if m.requester_id in seated_ids and m.target_id in seated_ids]
    snapshot = RegistrationClosedData(
        session=session_data(closed),
        registrants=[Registrant(registration_id=r.registration_id, participant_id=r.participant_id,
                                party_type=r.party_type, role=r.role, listing_ids=r.listing_ids,
                                interests=r.interests) for r in seated],
        meeting_requests=requests)
    return Change(fields={"registration_open": False, "version": closed.version, "closed_at": now},
                  events=[("session.registration_closed.v1", snapshot)])


def check_in(session: Session, code: str, now: datetime) -> tuple[Registration, Change]:
    registration = next((r for r in session.registrations.values() if r.check_in_code == code), None)
    if registration is None:
        raise NotFound("no registration of this session has this check-in code / 签到码无效")
    if registration.status is RegistrationStatus.CHECKED_IN:
        raise Conflict("already checked in / 已签到")
    if registration.status not in (RegistrationStatus.CONFIRMED, RegistrationStatus.NO_SHOW):
        raise Conflict(f"a registration that is {registration.status.value} cannot check in / 该报名未确认，不能签到")
    if now >= session.ends_at:
        raise Conflict("the session has ended / 活动已结束")
    checked_in = _set_status(registration, RegistrationStatus.CHECKED_IN, now)
    change = Change(registrations={participant_key(registration.participant_id): checked_in})
    change.events.append(("registration.checked_in.v1", registration_data(apply(session, change), checked_in)))
    return checked_in, change


def mark_no_shows(session: Session, now: datetime) -> Change:
    """After the start, every confirmed registration that has not checked in is a no-show."""
    if now < session.starts_at:
        raise Conflict(f"no-shows are marked after the session starts at {session.starts_at.isoformat()} "
                       "/ 活动尚未开始")
    change = Change()
    for registration in session.in_order():
        if registration.status is RegistrationStatus.CONFIRMED:
            no_show = _set_status(registration, RegistrationStatus.NO_SHOW, now)
            change.registrations[participant_key(registration.participant_id)] = no_show
    final = apply(session, change)
    change.events.extend(("registration.no_show.v1", registration_data(final, r))
                         for r in change.registrations.values())
    return change


def request_meeting(session: Session, *, requester_id: str, target_id: str, preference: MeetingPreference,
                    now: datetime) -> tuple[MeetingRequest, Change]:
    ensure_accepting(session, now)
    requester = session.active_registration_of(requester_id)
    if requester is None:
        raise Conflict("register for the session before requesting meetings / 请先报名")
    if requester.status is RegistrationStatus.WAITLISTED:
        # Agendas are planned for confirmed registrants only: the request could not take effect.
        raise Conflict("you are on the waitlist: meetings are planned for confirmed registrants only; request them "
                       "once you are promoted / 您在候补名单中：洽谈仅为已确认的报名者安排，转正后再提出")
    if target_id == requester_id:
        raise Invalid([Problem(("target_id",), "you cannot request a meeting with yourself / 不能与自己洽谈")])
    if session.active_registration_of(target_id) is None:
        raise Invalid([Problem(("target_id",), f"{target_id!r} is not registered for this session / 对方未报名该活动")])
    request = MeetingRequest(requester_id=requester_id, target_id=target_id, preference=preference, requested_at=now)
    event = MeetingRequestData(session_id=session.id, requester_id=requester_id, target_id=target_id,
                               preference=preference)
    return request, Change(meeting_requests={meeting_key(requester_id, target_id): request},
                           events=[("meeting.requested.v1", event)])
