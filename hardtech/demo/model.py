"""The shape of the demo data set: participants, offers and needs, sessions and registrations.

Everything refers to everything else by a stable ``key`` ("p001", "i0001", "cd-5g"), because the
services assign the real ids when the demo loads the data. Times are offsets from the moment the
demo runs. Value types come from ``shared.events`` so the data cannot drift from the events.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.events.common import Language, LocalizedText, MoneyRange
from shared.events.listing import TransferMode
from shared.events.sessions import Capacity, MeetingPreference, Role
from shared.party_types import Kind, PartyType, Side


class DemoModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Participant(DemoModel):
    key: str
    party_type: PartyType
    organisation: LocalizedText
    display_name: LocalizedText
    region: str
    fields: list[str]
    language: Language
    email: str
    webhook_url: str | None = None

    def as_request(self) -> dict[str, Any]:
        """The body that registers this participant (the service assigns the id)."""
        return self.model_dump(mode="json", exclude={"key"})


class Item(DemoModel):
    """An offer or a need, shaped like ``shared.events.listing.ItemData`` minus ids and status."""

    key: str
    owner: str  # a participant key
    side: Side
    kind: Kind
    title: LocalizedText
    description: LocalizedText | None
    fields: list[str]
    keywords: list[str]
    trl: int | None = Field(None, ge=1, le=9)
    ip_status: str | None = None
    patents: list[str] = Field(default_factory=list)
    transfer_modes: list[TransferMode] = Field(default_factory=list)
    amount: MoneyRange | None = None
    region: str | None = None
    region_preference: list[str] = Field(default_factory=list)
    expires_at: datetime | None = None

    def as_request(self) -> dict[str, Any]:
        """The body that posts this offer or need as its owner (the side picks the endpoint)."""
        return self.model_dump(mode="json", exclude={"key", "owner", "side"})


class Offset(DemoModel):
    """A moment relative to when the demo runs."""

    days: int = 0
    hours: int = 0
    minutes: int = 0

    def after(self, now: datetime) -> datetime:
        return now + timedelta(days=self.days, hours=self.hours, minutes=self.minutes)


class MeetingPlan(DemoModel):
    first_slot: Offset
    slot_minutes: int = Field(ge=5, le=240)
    slots: int = Field(ge=1, le=100)
    tables: int = Field(ge=1, le=1000)
    min_meetings: int = Field(0, ge=0)
    max_meetings: int = Field(6, ge=1)


class Session(DemoModel):
    key: str
    organiser: str  # a participant key (a government or an agency)
    title: LocalizedText
    fields: list[str]
    city: str
    high_tech_zone: str | None = None
    industrial_cluster: str | None = None
    venue: str | None = None
    starts: Offset
    ends: Offset
    registration_opens: Offset
    registration_closes: Offset
    capacity: Capacity
    quotas: dict[PartyType, int] = Field(default_factory=dict)
    meeting_plan: MeetingPlan

    def as_request(self, now: datetime) -> dict[str, Any]:
        """The body that creates this session as its organiser, with times fixed from ``now``."""
        body = self.model_dump(mode="json", exclude={
            "key", "organiser", "starts", "ends", "registration_opens", "registration_closes", "meeting_plan",
        })
        plan = self.meeting_plan.model_dump(mode="json", exclude={"first_slot"})
        return body | {
            "starts_at": self.starts.after(now).isoformat(),
            "ends_at": self.ends.after(now).isoformat(),
            "registration_opens_at": self.registration_opens.after(now).isoformat(),
            "registration_closes_at": self.registration_closes.after(now).isoformat(),
            "meeting_plan": plan | {"first_slot_at": self.meeting_plan.first_slot.after(now).isoformat()},
        }


class Registration(DemoModel):
    session: str
    participant: str
    role: Role
    listings: list[str] = Field(default_factory=list)  # keys of the presenter's own offers
    interests: list[str] = Field(default_factory=list)  # field codes


class MeetingRequest(DemoModel):
    session: str
    requester: str
    target: str
    preference: MeetingPreference


class Dataset(DemoModel):
    seed: int
    participants: list[Participant]
    items: list[Item]
    sessions: list[Session]
    registrations: list[Registration]
    meeting_requests: list[MeetingRequest]

    def participant(self, key: str) -> Participant:
        return next(p for p in self.participants if p.key == key)

    def items_of(self, owner: str) -> list[Item]:
        return [i for i in self.items if i.owner == owner]
