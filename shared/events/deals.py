"""Events of the deals service: a deal's way from a match to a signed technology contract (or its
closing without one), all keyed by deal id. No event carries a contract's amount: amounts are
private to the deal's parties and operators, and these events are for every subscriber."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import Field

from shared.events.common import MAX_INT
from shared.events.envelope import EventData, event_type
from shared.events.listing import TransferMode
from shared.party_types import PartyType


class DealStage(StrEnum):
    """In order; ``closed`` ends a deal without a contract at any stage before signing."""

    CONTACTED = "contacted"  # 已接洽
    MET = "met"  # 已会面
    DUE_DILIGENCE = "due_diligence"  # 保密协议/尽职调查
    TERM_SHEET = "term_sheet"  # 投资意向书/条款清单
    CONTRACT_SIGNED = "contract_signed"  # 已签约
    CLOSED = "closed"  # 未成交关闭


class CloseReason(StrEnum):
    PRICE = "price_gap"  # 价格分歧
    TECHNOLOGY_NOT_READY = "technology_not_ready"  # 技术成熟度不足
    IP_ISSUES = "ip_issues"  # 知识产权问题
    NO_FUNDING = "no_funding"  # 资金未落实
    STRATEGY_CHANGED = "strategy_changed"  # 战略调整
    NO_RESPONSE = "no_response"  # 对方无回应
    OTHER = "other"  # 其他


class ContractType(StrEnum):
    """The categories of China's technology contract registration (技术合同认定登记)."""

    DEVELOPMENT = "development"  # 技术开发
    TRANSFER = "transfer"  # 技术转让
    LICENCE = "licence"  # 技术许可
    CONSULTING = "consulting"  # 技术咨询
    SERVICE = "service"  # 技术服务


STAGE_NAMES: dict[DealStage, tuple[str, str]] = {  # (zh, en), for people
    DealStage.CONTACTED: ("已接洽", "contacted"),
    DealStage.MET: ("已会面", "met"),
    DealStage.DUE_DILIGENCE: ("保密协议/尽职调查", "NDA / due diligence"),
    DealStage.TERM_SHEET: ("条款清单", "term sheet"),
    DealStage.CONTRACT_SIGNED: ("已签约", "contract signed"),
    DealStage.CLOSED: ("未成交关闭", "closed without a deal"),
}
CLOSE_REASON_NAMES: dict[CloseReason, tuple[str, str]] = {
    CloseReason.PRICE: ("价格分歧", "price gap"),
    CloseReason.TECHNOLOGY_NOT_READY: ("技术成熟度不足", "technology not ready"),
    CloseReason.IP_ISSUES: ("知识产权问题", "IP issues"),
    CloseReason.NO_FUNDING: ("资金未落实", "no funding"),
    CloseReason.STRATEGY_CHANGED: ("战略调整", "strategy changed"),
    CloseReason.NO_RESPONSE: ("对方无回应", "no response"),
    CloseReason.OTHER: ("其他", "other"),
}
CONTRACT_TYPE_NAMES: dict[ContractType, tuple[str, str]] = {
    ContractType.DEVELOPMENT: ("技术开发", "development"), ContractType.TRANSFER: ("技术转让", "transfer"),
    ContractType.LICENCE: ("技术许可", "licence"), ContractType.CONSULTING: ("技术咨询", "consulting"),
    ContractType.SERVICE: ("技术服务", "service"),
}


class DealRole(StrEnum):
    OFFER = "offer"  # the party whose offer was matched
    NEED = "need"  # the party whose need was matched


class DealParty(EventData):
    participant_id: str
    party_type: PartyType
    role: DealRole


class ContractSummary(EventData):
    """A signed contract as every subscriber may see it: no amount."""

    contract_type: ContractType
    transfer_mode: TransferMode
    field: str
    region: str
    signed_on: date


@event_type("deal.opened.v1")
@event_type("deal.stage_confirmed.v1")
@event_type("deal.stage_reached.v1")
@event_type("deal.closed.v1")
class DealData(EventData):
    """The deal after the change. ``stage_confirmed``: one party confirmed ``pending_stage``, the
    other has yet to; ``stage_reached``: both did (or the stage needs one), ``stage`` moved on."""

    deal_id: str
    match_id: str
    parties: tuple[DealParty, DealParty]
    stage: DealStage
    pending_stage: DealStage | None = None
    confirmed_by: list[str] = Field(default_factory=list, description="Who confirmed pending_stage so far")
    entered_at: dict[DealStage, datetime] = Field(description="When the deal reached each stage so far")
    changed_by: str = Field(description="A participant id; 'matching' when both parties accepted the match, "
                                        "'session' when their meeting was held at a session (both checked in)")
    close_reason: CloseReason | None = None
    close_comment: str | None = Field(None, max_length=1000)
    contract: ContractSummary | None = None
    session_id: str | None = Field(None, description="The session where the meeting that opened the deal was held")
    version: int = Field(ge=1, le=MAX_INT)


PRIOR_CAP = 0.05  # the most a conversion prior moves a match's score (0–1 scale), either way


def prior_key(field: str, offer_party_type: str, need_party_type: str) -> str:
    """The ``conversion-priors`` key of a first-level field and party-type pair: ``5G|university>enterprise``."""
    return f"{field}|{offer_party_type}>{need_party_type}"


@event_type("conversion.prior_updated.v1")
class ConversionPriorData(EventData):
    """How deals of one first-level field and party-type pair end, as a bounded prior for ranking
    (services/deals/domain/outcomes.py says how it is computed). Keyed ``<field>|<offer>><need>``;
    the latest per key is the one that counts (compacted topic)."""

    field: str = Field(description="First-level taxonomy code of the matched items")
    offer_party_type: PartyType
    need_party_type: PartyType
    signed: int = Field(ge=0, le=MAX_INT, description="Deals that ended with a signed contract")
    closed: dict[CloseReason, Annotated[int, Field(ge=0, le=MAX_INT)]] = Field(
        description="Deals closed without a contract, by reason")
    conversion: float = Field(ge=0, le=1, description="Signed share of the ended deals, smoothed to the baseline")
    baseline: float = Field(ge=0, le=1, description="Signed share of all ended deals (smoothed)")
    prior: float = Field(ge=-PRIOR_CAP, le=PRIOR_CAP,
                         description="conversion − baseline, bounded; 0 until the key has enough ended deals")
    version: int = Field(ge=1, le=MAX_INT)

    @property
    def key(self) -> str:
        return prior_key(self.field, self.offer_party_type, self.need_party_type)
