"""Request and response bodies of the HTTP API (unknown request fields are rejected)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shared.api.inputs import OneLine, Title
from shared.events.sessions import Capacity, MeetingPlan, MeetingPreference, Quota, RegistrationStatus, Role
from shared.party_types import PartyType
from services.events_sessions.domain.model import Moment, Registration, Session, SessionSpec
from services.events_sessions.domain.rules import is_accepting
from services.events_sessions.domain.seats import seat_counts, waitlist_position

ID = Field(min_length=1, max_length=100)


class SessionChanges(BaseModel):
    """A partial update of a session: only the fields sent are changed (null is not a value)."""

    model_config = ConfigDict(extra="forbid")

    title: Title = None  # type: ignore[assignment]
    fields: list[str] = Field(None, min_length=1, max_length=10)  # type: ignore[arg-type]
    city: str = Field(None, min_length=1, max_length=20)  # type: ignore[assignment]
    high_tech_zone: str | None = Field(None, max_length=20)
    industrial_cluster: OneLine | None = Field(None, min_length=1, max_length=200)
    venue: OneLine | None = Field(None, min_length=1, max_length=300)
    starts_at: Moment = None  # type: ignore[assignment]
    ends_at: Moment = None  # type: ignore[assignment]
    registration_opens_at: Moment = None  # type: ignore[assignment]
    registration_closes_at: Moment = None  # type: ignore[assignment]
    capacity: Capacity = None  # type: ignore[assignment]
    quotas: dict[PartyType, Quota] = None  # type: ignore[assignment]
    meeting_plan: MeetingPlan | None = None


class SessionOut(SessionSpec):
    model_config = ConfigDict(extra="ignore")

    id: str
    organiser_id: str
    registration_open: bool = Field(description="False once the organiser or the deadline closed it")
    accepting_registrations: bool = Field(description="Open and inside the registration window now")
    version: int
    created_at: datetime
    closed_at: datetime | None
    seats_taken: dict[Role, int]
    waitlisted: dict[Role, int]

    @classmethod
    def of(cls, session: Session, now: datetime) -> SessionOut:
        counts = seat_counts(session)
        return cls(**session.model_dump(exclude={"registrations", "meeting_requests"}),
                   accepting_registrations=is_accepting(session, now),
                   seats_taken={r: counts.seated[r] for r in Role}, waitlisted={r: counts.waitlisted[r] for r in Role})

    @classmethod
    def of_summary(cls, document: dict, now: datetime) -> SessionOut:
        """From a stored summary (no registrations): the counts are the stored ones."""
        session = Session.model_validate({**document, "id": document["_id"]})
        return cls(**session.model_dump(exclude={"registrations", "meeting_requests"}),
                   accepting_registrations=is_accepting(session, now),
                   seats_taken=document["confirmed"], waitlisted=document["waitlisted"])


class RegistrationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role
    listing_ids: list[str] = Field(default_factory=list, max_length=10,
                                   description="Presenters: the ids of their own open listings to pitch")
    interests: list[str] = Field(default_factory=list, max_length=20, description="Field codes such as BIO.DEV")


class RegistrationOut(BaseModel):
    registration_id: str
    session_id: str
    participant_id: str
    party_type: PartyType
    role: Role
    listing_ids: list[str]
    interests: list[str]
    status: RegistrationStatus
    sequence: int = Field(description="Arrival order within the session")
    waitlist_position: int | None
    registered_at: datetime
    updated_at: datetime
    check_in_code: str | None = Field(None, description="Shown to the registrant only; the organiser scans it")

    @classmethod
    def of(cls, session: Session, registration: Registration, *, with_code: bool) -> RegistrationOut:
        return cls(**registration.model_dump(exclude={"check_in_code"}), session_id=session.id,
                   waitlist_position=waitlist_position(session, registration),
                   check_in_code=registration.check_in_code if with_code else None)


class CheckInIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=40)


class NoShowsOut(BaseModel):
    marked: int


class MeetingRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target_id: str = Field(min_length=1, max_length=100, description="The participant id of another registrant")
    preference: MeetingPreference


class MeetingRequestOut(BaseModel):
    session_id: str
    requester_id: str
    target_id: str
    preference: MeetingPreference
    requested_at: datetime
