"""A participant's list of its deals, as a person reads it: the counterpart and the session by name,
the two items by title, whether the deal waits for this participant's confirmation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from shared.events.common import LocalizedText
from shared.events.deals import DealRole, DealStage
from shared.party_types import PartyType
from services.deals.domain.model import Contract, Deal


class Counterpart(BaseModel):
    participant_id: str
    party_type: PartyType
    organisation: LocalizedText | None = Field(None, description="Unknown until the participant's profile is read")
    display_name: LocalizedText | None = None


class SessionRef(BaseModel):
    id: str
    title: LocalizedText | None = None


class MyDeal(BaseModel):
    id: str
    match_id: str
    stage: DealStage
    pending_stage: DealStage | None
    waiting_for_you: bool = Field(description="The other party confirmed pending_stage; your confirmation moves it")
    role: DealRole = Field(description="Your side of the match")
    counterpart: Counterpart
    your_item: LocalizedText | None = Field(None, description="The title of your offer or need")
    their_item: LocalizedText | None = None
    session: SessionRef | None = Field(None, description="Where the meeting that opened the deal was held")
    updated_at: datetime = Field(description="When the deal last reached a stage")
    contract: Contract | None = Field(None, description="The contract record, amount included (you are a party)")


def page_numbers(last: int, before: int | None, limit: int) -> list[int]:
    """The entry numbers of one page, newest first: below ``before`` (the cursor), else from ``last``."""
    top = last if before is None else min(before - 1, last)
    return list(range(top, max(top - limit, 0), -1))


def my_deal(deal: Deal, participant_id: str, match: dict[str, Any] | None, names: dict[str, dict[str, Any]],
            session_titles: dict[str, LocalizedText]) -> MyDeal:
    """The deal as ``participant_id`` (one of its parties) sees it in its list."""
    mine = next(p for p in deal.parties if p.participant_id == participant_id)
    other = next(p for p in deal.parties if p is not mine)
    named = names.get(other.participant_id, {})
    titles = {role: _title(match, role.value) for role in DealRole}
    return MyDeal(
        id=deal.id, match_id=deal.match_id, stage=deal.stage, pending_stage=deal.pending_stage,
        waiting_for_you=deal.pending_stage is not None and participant_id not in deal.confirmed_by,
        role=mine.role,
        counterpart=Counterpart(participant_id=other.participant_id, party_type=other.party_type,
                                organisation=named.get("organisation"), display_name=named.get("display_name")),
        your_item=titles[mine.role], their_item=titles[other.role],
        session=None if deal.session_id is None else SessionRef(id=deal.session_id,
                                                                title=session_titles.get(deal.session_id)),
        updated_at=max(deal.entered_at.values()), contract=deal.contract)


def _title(match: dict[str, Any] | None, side: str) -> LocalizedText | None:
    title = (match or {}).get(side, {}).get("title")
    return None if title is None else LocalizedText.model_validate(title)
