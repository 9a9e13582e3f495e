"""A deal and the technology contract it ends with, as the service keeps them (amounts included)."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from shared.api.inputs import CurrencyCode
from shared.events.common import LocalizedText
from shared.events.deals import CloseReason, ContractSummary, ContractType, DealData, DealParty, DealStage
from shared.events.listing import TransferMode


def deal_id_of(match_id: str) -> str:
    """One deal per match: its id follows from the match's, so both ways of opening it meet."""
    return "d_" + hashlib.sha256(match_id.encode()).hexdigest()[:24]


class MatchSideRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    item_id: str
    owner_id: str
    party_type: str
    title: LocalizedText | None = None  # the item's title as the match event gave it


class Contract(BaseModel):
    """What a technology-contract registration (技术合同认定登记) needs; the parties are the deal's."""

    model_config = ConfigDict(frozen=True)

    contract_type: ContractType
    amount: Decimal = Field(gt=0, max_digits=16, decimal_places=2)
    currency: CurrencyCode
    transfer_mode: TransferMode
    field: str
    region: str
    signed_on: date

    def summary(self) -> ContractSummary:
        """The contract without its amount, for events."""
        return ContractSummary(contract_type=self.contract_type, transfer_mode=self.transfer_mode, field=self.field,
                               region=self.region, signed_on=self.signed_on)

    @property
    def amount_cents(self) -> int:
        return int(self.amount * 100)


class Deal(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    match_id: str
    parties: tuple[DealParty, DealParty]
    stage: DealStage
    pending_stage: DealStage | None = None
    confirmed_by: list[str] = Field(default_factory=list)
    entered_at: dict[DealStage, datetime]
    close_reason: CloseReason | None = None
    close_comment: str | None = None
    contract: Contract | None = None
    session_id: str | None = None  # the session where the meeting that opened the deal was held
    version: int = 1

    def party_ids(self) -> list[str]:
        return [p.participant_id for p in self.parties]

    def data(self, changed_by: str) -> DealData:
        """The deal as events carry it: the contract without its amount."""
        return DealData(deal_id=self.id, match_id=self.match_id, parties=self.parties, stage=self.stage,
                        pending_stage=self.pending_stage, confirmed_by=list(self.confirmed_by),
                        entered_at=dict(self.entered_at), changed_by=changed_by, close_reason=self.close_reason,
                        close_comment=self.close_comment,
                        contract=self.contract.summary() if self.contract else None, session_id=self.session_id,
                        version=self.version)
