"""Small builders of valid events for the matching unit tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from shared.events.common import LocalizedText, MoneyRange
from shared.events.listing import ItemData, ItemStatus
from shared.party_types import Kind, PartyType, Side

NOW = datetime(2026, 6, 1, tzinfo=UTC)

_DEFAULT_OWNER = {
    (Side.OFFER, Kind.TECHNOLOGY): PartyType.UNIVERSITY,
    (Side.NEED, Kind.TECHNOLOGY): PartyType.ENTERPRISE,
    (Side.OFFER, Kind.CAPITAL): PartyType.INVESTOR,
    (Side.NEED, Kind.CAPITAL): PartyType.ENTERPRISE,
    (Side.OFFER, Kind.SERVICE): PartyType.AGENCY,
    (Side.NEED, Kind.SERVICE): PartyType.ENTERPRISE,
    (Side.OFFER, Kind.POLICY): PartyType.GOVERNMENT,
    (Side.NEED, Kind.POLICY): PartyType.ENTERPRISE,
}


def item(item_id: str, side: Side = Side.OFFER, *, kind: Kind = Kind.TECHNOLOGY, fields: list[str] | None = None,
         zh: str | None = None, en: str | None = None, owner: str | None = None,
         party: PartyType | None = None, trl: int | None = None, amount: tuple[float | None, float | None] | None = None,
         age_days: float = 1.0, **extra: Any) -> ItemData:
    updated = NOW - timedelta(days=age_days)
    return ItemData(
        id=item_id, side=side, kind=kind, owner_id=owner or f"p-{item_id}",
        owner_party_type=party or _DEFAULT_OWNER[(side, kind)],
        title=LocalizedText(zh=zh, en=en if en or zh else item_id),
        fields=fields or ["5G.RAN"], trl=trl,
        amount=MoneyRange(min=amount[0], max=amount[1]) if amount else None,
        status=extra.pop("status", ItemStatus.OPEN), created_at=updated, updated_at=updated, **extra)


def offer(item_id: str, **kw: Any) -> ItemData:
    return item(item_id, Side.OFFER, **kw)


def need(item_id: str, **kw: Any) -> ItemData:
    return item(item_id, Side.NEED, **kw)
