"""The session aggregate: a pitch session with its registrations and meeting requests.

One session is one document, so every decision about its seats is taken on one consistent
state and written back with its events in one atomic update (see ``storage``).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from shared.api.inputs import OneLine, Title
from shared.moments import to_utc
from shared.events.sessions import (
    Capacity,
    MeetingPlan,
    MeetingPreference,
    Quota,
    RegistrationStatus,
    Role,
)
from shared.party_types import PartyType

# Statuses that hold a place in the session (a seat or a place in the waitlist).
ACTIVE = frozenset({RegistrationStatus.CONFIRMED, RegistrationStatus.WAITLISTED,
                    RegistrationStatus.CHECKED_IN, RegistrationStatus.NO_SHOW})
SEATED = frozenset({RegistrationStatus.CONFIRMED, RegistrationStatus.CHECKED_IN, RegistrationStatus.NO_SHOW})


EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2999, 12, 31, 23, 59, 59, tzinfo=UTC)


def in_range(moment: datetime) -> datetime:
    """Dates between 2000 and 2999 (UTC, when no zone is given): far from the calendar's ends, so an
    offset or a meeting plan added to one can neither overflow nor reach MongoDB out of its range."""
    if not EARLIEST <= to_utc(moment) <= LATEST:
        raise ValueError("must lie between the years 2000 and 2999 / 日期须在2000年至2999年之间")
    return moment


Moment = Annotated[AwareDatetime, AfterValidator(in_range)]


def participant_key(participant_id: str) -> str:
    """A field-name-safe key for a participant inside the session document (ids may hold dots)."""
    return "p" + hashlib.sha256(participant_id.encode()).hexdigest()[:20]


def meeting_key(requester_id: str, target_id: str) -> str:
    return f"{participant_key(requester_id)}-{participant_key(target_id)}"


class SessionSpec(BaseModel):
    """What an organiser states about a session (the body of ``POST /sessions``)."""

    model_config = ConfigDict(extra="forbid")

    title: Title
    fields: list[str] = Field(min_length=1, max_length=10, description="Field codes such as 5G or 5G.RAN")
    city: str = Field(min_length=1, max_length=20, description="City code such as CN-SC.CD")
    high_tech_zone: str | None = Field(None, max_length=20, description="National high-tech zone code, e.g. CDHT")
    industrial_cluster: OneLine | None = Field(None, min_length=1, max_length=200)
    venue: OneLine | None = Field(None, min_length=1, max_length=300)
    starts_at: Moment
    ends_at: Moment
    registration_opens_at: Moment
    registration_closes_at: Moment
    capacity: Capacity
    quotas: dict[PartyType, Quota] = Field(default_factory=dict,
                                         description="Most seats (both roles together) per party type")
    meeting_plan: MeetingPlan | None = None

    @field_validator("meeting_plan")
    @classmethod
    def _slots_start_at_a_zoned_time(cls, plan: MeetingPlan | None) -> MeetingPlan | None:
        if plan is not None and plan.first_slot_at.tzinfo is None:
            raise ValueError("first_slot_at needs a time zone, e.g. +08:00 / 须注明时区")
        if plan is not None:
            in_range(plan.first_slot_at)
        return plan


class Registration(BaseModel):
    registration_id: str
    participant_id: str
    party_type: PartyType
    role: Role
    listing_ids: list[str] = Field(default_factory=list)
    interests: list[str] = Field(default_factory=list)
    status: RegistrationStatus
    sequence: int = Field(ge=1)
    check_in_code: str
    registered_at: datetime
    updated_at: datetime


class MeetingRequest(BaseModel):
    requester_id: str
    target_id: str
    preference: MeetingPreference
    requested_at: datetime


class Session(SessionSpec):
    model_config = ConfigDict(extra="ignore")

    id: str
    organiser_id: str
    registration_open: bool = True
    version: int = Field(1, ge=1)
    created_at: datetime
    closed_at: datetime | None = None
    revision: int = 0  # bumped by every write: the compare-and-set guard
    sequence: int = 0  # arrival counter of registrations
    registrations: dict[str, Registration] = Field(default_factory=dict)
    meeting_requests: dict[str, MeetingRequest] = Field(default_factory=dict)

    def capacity_of(self, role: Role) -> int:
        return self.capacity.presenters if role is Role.PRESENTER else self.capacity.attendees

    def registration_of(self, participant_id: str) -> Registration | None:
        return self.registrations.get(participant_key(participant_id))

    def active_registration_of(self, participant_id: str) -> Registration | None:
        found = self.registration_of(participant_id)
        return found if found is not None and found.status in ACTIVE else None

    def in_order(self) -> list[Registration]:
        return sorted(self.registrations.values(), key=lambda r: r.sequence)
