"""Events of the events_sessions service, all keyed by session id so a session's stay ordered."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import Field

from shared.events.common import MAX_INT, LocalizedText
from shared.events.envelope import EventData, event_type
from shared.party_types import PartyType

# Most seats (both roles together) for one party type.
Quota = Annotated[int, Field(ge=1, le=MAX_INT)]


class Role(StrEnum):
    PRESENTER = "presenter"
    ATTENDEE = "attendee"


class RegistrationStatus(StrEnum):
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"
    CHECKED_IN = "checked_in"
    NO_SHOW = "no_show"


class MeetingPreference(StrEnum):
    MUST_MEET = "must_meet"
    WOULD_LIKE = "would_like"
    DECLINE = "decline"


class MeetingPlan(EventData):
    """How a session's 1:1 meetings are laid out: ``slots`` consecutive slots on ``tables`` tables."""

    first_slot_at: datetime
    slot_minutes: int = Field(ge=5, le=240)
    slots: int = Field(ge=1, le=100)
    tables: int = Field(ge=1, le=1000)
    min_meetings: int = Field(0, ge=0, le=MAX_INT)
    max_meetings: int = Field(6, ge=1, le=MAX_INT)


class Capacity(EventData):
    presenters: int = Field(ge=1, le=MAX_INT)
    attendees: int = Field(ge=1, le=MAX_INT)


@event_type("session.created.v1")
@event_type("session.updated.v1")
class SessionData(EventData):
    id: str
    organiser_id: str
    title: LocalizedText
    fields: list[str] = Field(min_length=1)
    city: str
    high_tech_zone: str | None = None
    industrial_cluster: str | None = None
    venue: str | None = None
    starts_at: datetime
    ends_at: datetime
    registration_opens_at: datetime
    registration_closes_at: datetime
    capacity: Capacity
    quotas: dict[PartyType, Quota] = Field(default_factory=dict)
    meeting_plan: MeetingPlan | None = None
    registration_open: bool = True
    version: int = Field(1, ge=1, le=MAX_INT)


@event_type("registration.confirmed.v1")
@event_type("registration.waitlisted.v1")
@event_type("registration.promoted.v1")
@event_type("registration.cancelled.v1")
@event_type("registration.checked_in.v1")
@event_type("registration.no_show.v1")
class RegistrationData(EventData):
    session_id: str
    registration_id: str
    participant_id: str
    party_type: PartyType
    role: Role
    listing_ids: list[str] = Field(default_factory=list)
    interests: list[str] = Field(default_factory=list)
    status: RegistrationStatus
    waitlist_position: int | None = Field(None, ge=1, le=MAX_INT)
    sequence: int = Field(ge=1, description="Arrival order within the session", le=MAX_INT)


@event_type("meeting.requested.v1")
class MeetingRequestData(EventData):
    session_id: str
    requester_id: str
    target_id: str
    preference: MeetingPreference


class Registrant(EventData):
    registration_id: str
    participant_id: str
    party_type: PartyType
    role: Role
    listing_ids: list[str] = Field(default_factory=list)
    interests: list[str] = Field(default_factory=list)


@event_type("session.registration_closed.v1")
class RegistrationClosedData(EventData):
    """The closing snapshot: everything the agenda planner needs, in one event."""

    session: SessionData
    registrants: list[Registrant]
    meeting_requests: list[MeetingRequestData] = Field(default_factory=list)
