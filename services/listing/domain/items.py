"""Offers (listings) and needs (demands): one symmetric model, its life cycle and who may do what.

draft ⇄ open → closed, and draft/open → withdrawn (by the owner) or expired (past ``expires_at``);
withdrawn, closed and expired are final.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from services.listing.domain.common import Conflict, Forbidden, new_id
from services.listing.domain.validation import (
    Amount, FieldCodes, FutureTime, PreferenceCodes, RegionCode, RequestModel, ShortStrings, Text, Title,
)
from shared.events.listing import ItemData, ItemStatus, TransferMode
from shared.party_types import PARTY_NAMES, Kind, PartyType, Side, may_post
from shared.text import term_set, tokens

LIVE = (ItemStatus.DRAFT, ItemStatus.OPEN)
NOUN = {Side.OFFER: ("listing", "成果/供给"), Side.NEED: ("demand", "需求")}

RequiredFieldCodes = Annotated[FieldCodes, Field(min_length=1)]
Trl = Annotated[int, Field(ge=1, le=9, description="Technology readiness level 1–9")]
IpStatus = Annotated[str, Field(max_length=500)]
TransferModes = Annotated[list[TransferMode], Field(max_length=6)]


class ItemIn(RequestModel):
    kind: Kind
    title: Title
    description: Text | None = None
    fields: RequiredFieldCodes
    keywords: ShortStrings = []
    trl: Trl | None = None
    ip_status: IpStatus | None = None
    patents: ShortStrings = []
    transfer_modes: TransferModes = []
    amount: Amount | None = None
    region: RegionCode | None = None
    region_preference: PreferenceCodes = []
    region_required: bool = False
    status: Literal[ItemStatus.DRAFT, ItemStatus.OPEN] = ItemStatus.OPEN
    expires_at: FutureTime | None = None


class ItemPatch(RequestModel):
    """Changes by the owner: given fields replace, ``null`` clears an optional one. The kind is
    fixed (it decides who may post it); withdrawing has its own endpoint."""

    # Absent means unchanged; these cannot be cleared, so null is not an accepted value.
    title: Title = None  # type: ignore[assignment]
    fields: RequiredFieldCodes = None  # type: ignore[assignment]
    keywords: ShortStrings = None  # type: ignore[assignment]
    patents: ShortStrings = None  # type: ignore[assignment]
    transfer_modes: TransferModes = None  # type: ignore[assignment]
    region_preference: PreferenceCodes = None  # type: ignore[assignment]
    region_required: bool = None  # type: ignore[assignment]
    status: Literal[ItemStatus.DRAFT, ItemStatus.OPEN, ItemStatus.CLOSED] = None  # type: ignore[assignment]
    description: Text | None = None
    trl: Trl | None = None
    ip_status: IpStatus | None = None
    amount: Amount | None = None
    region: RegionCode | None = None
    expires_at: FutureTime | None = None


def new_item_id(side: Side) -> str:
    return new_id("l" if side is Side.OFFER else "d")


def create(side: Side, owner_id: str, owner_type: PartyType, request: ItemIn, at: datetime,
           item_id: str | None = None) -> ItemData:
    if not may_post(owner_type, side, request.kind):
        zh_party, en_party = PARTY_NAMES[owner_type]
        verb_en, verb_zh = ("offer", "提供") if side is Side.OFFER else ("post a need for", "发布需求：")
        raise Forbidden(f"a {en_party.lower()} participant may not {verb_en} {request.kind.value}",
                        f"{zh_party}不能{verb_zh}{request.kind.value}")
    return ItemData.model_validate({
        **request.model_dump(mode="json"), "id": item_id or new_item_id(side), "side": side,
        "owner_id": owner_id, "owner_party_type": owner_type, "created_at": at, "updated_at": at,
    })


def apply_patch(current: ItemData, patch: ItemPatch, at: datetime) -> ItemData:
    _require_live(current, "changed")
    changes = patch.model_dump(mode="json", include=patch.model_fields_set)
    return _next(current, at, **changes)


def withdraw(current: ItemData, at: datetime) -> ItemData:
    _require_live(current, "withdrawn")
    return _next(current, at, status=ItemStatus.WITHDRAWN)


def expire(current: ItemData, at: datetime) -> ItemData:
    return _next(current, at, status=ItemStatus.EXPIRED)


def is_due(item: ItemData, at: datetime) -> bool:
    return item.status in LIVE and item.expires_at is not None and item.expires_at <= at


def require_owner(item: ItemData, participant_id: str | None) -> None:
    if item.owner_id != participant_id:
        en, zh = NOUN[item.side]
        raise Forbidden(f"only the owner may change this {en}", f"只有发布者可以修改此{zh}")


def visible_to(item: ItemData, subject: str, is_operator: bool) -> bool:
    """Open items are for every authenticated caller; the rest only for the owner and operators."""
    return item.status is ItemStatus.OPEN or is_operator or item.owner_id == subject


def search_terms(item: ItemData) -> list[str]:
    """Index terms of an item's text in both languages, stored with it for free-text search."""
    texts = [item.title.zh, item.title.en, *item.keywords]
    if item.description is not None:
        texts += [item.description.zh, item.description.en]
    return sorted(term_set(*texts))


def query_terms(text: str) -> list[str]:
    return sorted(set(tokens(text)))


def _require_live(item: ItemData, what: str) -> None:
    if item.status not in LIVE:
        en, zh = NOUN[item.side]
        raise Conflict(f"this {en} is {item.status.value} and can no longer be {what}",
                       f"此{zh}状态为 {item.status.value}，不能再修改")


def _next(current: ItemData, at: datetime, **changes: object) -> ItemData:
    return ItemData.model_validate({**current.model_dump(mode="json"), **changes, "updated_at": at,
                                    "version": current.version + 1})


@dataclass(frozen=True)
class ItemQuery:
    """What a caller asked ``GET /listings`` (or ``/demands``) for, with who is asking."""

    subject: str
    is_operator: bool
    kind: Kind | None = None
    field: str | None = None
    region: str | None = None
    party_type: PartyType | None = None
    status: ItemStatus | None = None
    mine: bool = False
    terms: tuple[str, ...] = ()

    def owner_only(self) -> bool:
        """Whether only the caller's own items may be listed: asking for their own, or for a
        status other than open (others' drafts and withdrawn items are not for them)."""
        return self.mine or (not self.is_operator and self.status not in (None, ItemStatus.OPEN))

    def effective_status(self) -> ItemStatus | None:
        """Open items unless a status was asked for; an owner's or an operator's listing shows all."""
        if self.status is not None or self.mine or self.is_operator:
            return self.status
        return ItemStatus.OPEN
