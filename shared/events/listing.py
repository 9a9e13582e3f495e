"""Events of the listing service: participants, listings (offers) and demands (needs).

Each event carries the full current snapshot of its entity, so the compacted entity topics
hold the latest state of every entity and a consumer never needs an earlier event.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from shared.events.common import MAX_INT, Language, LocalizedText, MoneyRange
from shared.events.envelope import EventData, event_type
from shared.party_types import Kind, PartyType, Side


class TransferMode(StrEnum):
    LICENCE = "licence"
    ASSIGNMENT = "assignment"
    EQUITY = "equity"
    JOINT_DEVELOPMENT = "joint_development"
    SERVICE_CONTRACT = "service_contract"
    SUBSIDY = "subsidy"


TRANSFER_MODE_NAMES: dict[TransferMode, tuple[str, str]] = {  # (zh, en), for people
    TransferMode.LICENCE: ("许可", "licence"),
    TransferMode.ASSIGNMENT: ("转让", "assignment"),
    TransferMode.EQUITY: ("作价入股", "equity"),
    TransferMode.JOINT_DEVELOPMENT: ("合作开发", "joint development"),
    TransferMode.SERVICE_CONTRACT: ("技术服务", "service contract"),
    TransferMode.SUBSIDY: ("资助", "subsidy"),
}


class ItemStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    WITHDRAWN = "withdrawn"
    CLOSED = "closed"
    EXPIRED = "expired"


@event_type("participant.registered.v1")
@event_type("participant.updated.v1")
@event_type("participant.organiser_granted.v1")
@event_type("participant.organiser_revoked.v1")
class ParticipantData(EventData):
    """A participant's snapshot. ``organiser`` is the role an operator granted (government and
    agency participants only), with the reason of the latest decision."""

    id: str
    party_type: PartyType
    organisation: LocalizedText
    display_name: LocalizedText
    region: str
    fields: list[str] = Field(default_factory=list)
    language: Language = Language.ZH_CN
    email: str | None = None
    webhook_url: str | None = None
    organiser: bool = False
    organiser_reason: str | None = None
    version: int = Field(1, ge=1, le=MAX_INT)


@event_type("listing.created.v1")
@event_type("listing.updated.v1")
@event_type("listing.withdrawn.v1")
@event_type("listing.expired.v1")
@event_type("demand.created.v1")
@event_type("demand.updated.v1")
@event_type("demand.withdrawn.v1")
@event_type("demand.expired.v1")
class ItemData(EventData):
    """An offer (listing) or a need (demand): one symmetric model for all six party types.

    ``trl`` is the readiness of an offered technology, or the minimum a need accepts.
    ``amount`` is an offer's price (or an investor's ticket) or a need's budget.
    """

    id: str
    side: Side
    kind: Kind
    owner_id: str
    owner_party_type: PartyType
    title: LocalizedText
    description: LocalizedText | None = None
    fields: list[str] = Field(min_length=1)
    keywords: list[str] = Field(default_factory=list)
    trl: int | None = Field(None, ge=1, le=9)
    ip_status: str | None = None
    patents: list[str] = Field(default_factory=list)
    transfer_modes: list[TransferMode] = Field(default_factory=list)
    amount: MoneyRange | None = None
    region: str | None = None
    # provinces, cities or areas (``shared.regions.AREAS``) the owner wants the partner in;
    # ``region_required`` makes that a condition of every match instead of a preference
    region_preference: list[str] = Field(default_factory=list)
    region_required: bool = False
    status: ItemStatus
    expires_at: datetime | None = None
    created_at: datetime
    updated_at: datetime
    version: int = Field(1, ge=1, le=MAX_INT)
