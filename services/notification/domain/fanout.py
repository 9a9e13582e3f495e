"""Fan-out: the recipients of an event and what each of them is told."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.events import CloudEvent
from shared.events.matching import AgendaData, ConsortiumData, MatchData, MatchRetractedData, MatchSide, RetractReason
from shared.events.monitor import AlertData
from shared.events.notification import WebhookDisabledData
from shared.events.sessions import RegistrationData, SessionData

from services.notification.domain.notices import OPERATOR_RECIPIENT, Notice, NotificationType

NOTIFYING_TYPES: dict[str, NotificationType] = {
    f"{t.value}.v1": t for t in NotificationType if t is not NotificationType.DIGEST
}


def notification_type(event_type: str) -> NotificationType | None:
    return NOTIFYING_TYPES.get(event_type)


def session_of(event: CloudEvent) -> str | None:
    """The session whose title and times the notices of this event need, if any."""
    data = event.data
    if isinstance(data, AgendaData | RegistrationData):
        return data.session_id
    return None


def named_participants(event: CloudEvent) -> set[str]:
    """The participants whose names the notices of this event give: counterparts, members."""
    data = event.data
    if isinstance(data, AgendaData):
        return {p for meeting in data.meetings for p in meeting.participant_ids}
    if isinstance(data, MatchData | MatchRetractedData):
        return {data.offer.owner_id, data.need.owner_id}
    if isinstance(data, ConsortiumData):
        return {m.participant_id for m in data.members}
    return set()


def notices(event: CloudEvent, *, session: SessionData | None = None,
            names: Mapping[str, dict[str, Any]] | None = None) -> list[Notice]:
    """Every notice an event causes: one per recipient. ``session`` and ``names`` (display names
    by participant id) enrich the text when known; without them the ids stand in."""
    kind = notification_type(event.type)
    if kind is None:
        return []
    data = event.data
    names = names or {}
    if isinstance(data, MatchData):
        return _match_created(kind, data, names)
    if isinstance(data, MatchRetractedData):
        return _match_retracted(kind, data, names)
    if isinstance(data, ConsortiumData):
        return _consortium(kind, data, names)
    if isinstance(data, AgendaData):
        return _agenda(kind, data, session, names)
    if isinstance(data, WebhookDisabledData):
        return [Notice(data.participant_id, kind, {"url": data.url, "attempts": data.attempts, "hours": data.hours,
                                                   "last_error": data.last_error})]
    if isinstance(data, RegistrationData):
        return [Notice(data.participant_id, kind, {**_session_context(data.session_id, session),
                                                   "registration_id": data.registration_id,
                                                   "role": data.role.value,
                                                   "waitlist_position": data.waitlist_position})]
    if isinstance(data, AlertData):
        # "subject" would clash with the rendered subject line: the alert's subject is what it is about.
        context = data.model_dump(mode="json")
        context["about"] = context.pop("subject")
        return [Notice(OPERATOR_RECIPIENT, kind, context)]
    return []


def _side(side: MatchSide) -> dict[str, Any]:
    return side.model_dump(mode="json")


def _match_parties(data: MatchData | MatchRetractedData) -> list[tuple[str, MatchSide, MatchSide]]:
    """(recipient, own side, other side) for each distinct owner."""
    parties = [(data.offer.owner_id, data.offer, data.need), (data.need.owner_id, data.need, data.offer)]
    if data.offer.owner_id == data.need.owner_id:
        parties = parties[:1]
    return parties


def _match_created(kind: NotificationType, data: MatchData, names: Mapping[str, dict[str, Any]]) -> list[Notice]:
    sides = {id(data.offer): _side(data.offer), id(data.need): _side(data.need)}  # each dumped once
    explanation = data.explanation.model_dump(mode="json")
    return [
        Notice(recipient, kind, {
            "match_id": data.match_id, "kind": data.kind.value, "score": data.score,
            "own": sides[id(own)], "other": sides[id(other)], "other_name": names.get(other.owner_id),
            "link": f"/matches/{data.match_id}", "explanation": explanation,
        }, score=data.score)
        for recipient, own, other in _match_parties(data)
    ]


def _match_retracted(kind: NotificationType, data: MatchRetractedData,
                     names: Mapping[str, dict[str, Any]]) -> list[Notice]:
    if data.reason is RetractReason.OUTRANKED:
        # Better matches took its place among the item's top k: the lists show it, a notice per
        # displaced match would only be noise (it is not something either party can act on).
        return []
    return [
        Notice(recipient, kind, {"match_id": data.match_id, "kind": data.kind.value, "reason": data.reason.value,
                                 "own": _side(own), "other": _side(other), "other_name": names.get(other.owner_id),
                                 "link": "/matches"})
        for recipient, own, other in _match_parties(data)
        # A decline retracts the match for the participant who declined, and only for them.
        if data.for_participant is None or data.for_participant == recipient
    ]


def _consortium(kind: NotificationType, data: ConsortiumData, names: Mapping[str, dict[str, Any]]) -> list[Notice]:
    members = [{**m.model_dump(mode="json"), "name": names.get(m.participant_id)} for m in data.members]
    recipients = dict.fromkeys(m.participant_id for m in data.members)  # ordered, distinct
    return [
        Notice(recipient, kind, {
            "consortium_id": data.consortium_id, "score": data.score,
            "my_roles": [m.role.value for m in data.members if m.participant_id == recipient],
            "members": members, "missing_roles": [r.value for r in data.missing_roles], "link": "/teams",
        }, score=data.score)
        for recipient in recipients
    ]


def _session_context(session_id: str, session: SessionData | None) -> dict[str, Any]:
    if session is None:
        return {"session_id": session_id, "session_title": None, "starts_at": None, "ends_at": None,
                "city": None, "venue": None}
    return {"session_id": session_id, "session_title": session.title.model_dump(mode="json"),
            "starts_at": session.starts_at.isoformat(), "ends_at": session.ends_at.isoformat(),
            "city": session.city, "venue": session.venue}


def _agenda(kind: NotificationType, data: AgendaData, session: SessionData | None,
            names: Mapping[str, dict[str, Any]]) -> list[Notice]:
    slots = {slot.index: slot for slot in data.slots}
    schedules: dict[str, list[dict[str, Any]]] = {}
    for meeting in sorted(data.meetings, key=lambda m: (m.slot, m.table)):
        slot = slots.get(meeting.slot)
        for me, counterpart in (meeting.participant_ids, tuple(reversed(meeting.participant_ids))):
            schedules.setdefault(me, []).append({
                "slot": meeting.slot, "table": meeting.table,
                "starts_at": slot.starts_at.isoformat() if slot else None,
                "ends_at": slot.ends_at.isoformat() if slot else None,
                "with_id": counterpart, "with_name": names.get(counterpart),
                "match_id": meeting.match_id, "must_meet": meeting.must_meet,
            })
    base = {**_session_context(data.session_id, session), "version": data.version}
    return [Notice(recipient, kind, {**base, "meetings": meetings}) for recipient, meetings in schedules.items()]
