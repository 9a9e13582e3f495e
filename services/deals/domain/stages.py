"""The stage machine of a deal.

contacted → met → due_diligence → term_sheet → contract_signed, one stage at a time; or closed
without a deal, by either party, at any stage before signing. A deal starts at ``contacted``
(one party opened it, or both accepted the match). Every later stage needs both parties: the
first to confirm makes it pending, the other's confirmation reaches it. ``contract_signed`` is
confirmed with the contract record by the first party; the other confirms that same record.
Each decision returns the new deal and the type of the event that tells of it."""

from __future__ import annotations

from datetime import date, datetime

from shared import regions, taxonomy
from shared.events.deals import CloseReason, DealParty, DealRole, DealStage
from shared.party_types import PartyType
from shared.domain_errors import Conflict, Forbidden, Invalid, Problem
from services.deals.domain.model import Contract, Deal, MatchSideRecord, deal_id_of

ORDER = (DealStage.CONTACTED, DealStage.MET, DealStage.DUE_DILIGENCE, DealStage.TERM_SHEET,
         DealStage.CONTRACT_SIGNED)
ENDED = frozenset({DealStage.CONTRACT_SIGNED, DealStage.CLOSED})
BOTH_ACCEPTED = "matching"  # who opens a deal when both parties accepted the match
MEETING_HELD = "session"  # who opens a deal when the pair's meeting was held at a session (both checked in)


def next_stage(stage: DealStage) -> DealStage:
    return ORDER[ORDER.index(stage) + 1]


def open_deal(match_id: str, offer: MatchSideRecord, need: MatchSideRecord, *, opened_by: str,
              now: datetime, session_id: str | None = None) -> Deal:
    """A new deal at ``contacted``; ``opened_by`` is a party of the match, 'matching' when both accepted it,
    or 'session' when their meeting was held at ``session_id``. A held meeting opens the deal at
    ``contacted`` too: check-ins show that both were at the session, not that they met; the parties
    confirm ``met`` as always."""
    if opened_by not in (offer.owner_id, need.owner_id, BOTH_ACCEPTED, MEETING_HELD):
        raise Forbidden("only a party of the match may open a deal on it / 仅匹配双方可发起洽谈")
    if offer.owner_id == need.owner_id:
        raise Conflict("the match's two sides belong to one participant / 匹配双方为同一参与方")
    parties = (DealParty(participant_id=offer.owner_id, party_type=PartyType(offer.party_type), role=DealRole.OFFER),
               DealParty(participant_id=need.owner_id, party_type=PartyType(need.party_type), role=DealRole.NEED))
    return Deal(id=deal_id_of(match_id), match_id=match_id, parties=parties, stage=DealStage.CONTACTED,
                entered_at={DealStage.CONTACTED: now}, session_id=session_id)


def _ensure_party(deal: Deal, participant_id: str) -> None:
    if participant_id not in deal.party_ids():
        raise Forbidden("only the deal's parties may change it / 仅交易双方可操作")


def _ensure_open(deal: Deal) -> None:
    if deal.stage in ENDED:
        raise Conflict(f"the deal is {deal.stage.value} and changes no more / 交易已结束，不能再变更")


def validate_contract(contract: Contract, today: date) -> None:
    """422 naming the field: a field or region that is not a known code, a date in the future."""
    problems = []
    if not taxonomy.is_known(contract.field):
        problems.append(Problem(("contract", "field"), f"unknown field code {contract.field!r} / 未知领域代码"))
    if not regions.is_known(contract.region):
        problems.append(Problem(("contract", "region"), f"unknown region code {contract.region!r} / 未知地区代码"))
    if contract.signed_on > today:
        problems.append(Problem(("contract", "signed_on"),
                                "a contract cannot be signed in the future / 签约日期不能晚于今天"))
    if problems:
        raise Invalid(problems)


def confirm(deal: Deal, participant_id: str, stage: DealStage, contract: Contract | None,
            now: datetime) -> tuple[Deal, str]:
    """A party confirms that the deal reached ``stage``."""
    _ensure_party(deal, participant_id)
    _ensure_open(deal)
    if stage is DealStage.CLOSED:
        raise Conflict("a deal is closed with POST /deals/{id}/close and a reason / 请通过关闭接口并说明原因")
    wanted = next_stage(deal.stage)
    if stage != wanted:
        raise Conflict(f"the deal is at {deal.stage.value}: the next stage is {wanted.value}, not {stage.value} "
                       f"(one stage at a time) / 交易须逐阶段推进，下一阶段为 {wanted.value}")
    if contract is not None and stage is not DealStage.CONTRACT_SIGNED:
        raise Invalid([Problem(("contract",), "a contract is recorded only with contract_signed / 仅签约时登记合同")])
    pending = deal.pending_stage == stage
    if pending and participant_id in deal.confirmed_by:
        raise Conflict(f"you confirmed {stage.value} already; waiting for the other party / 您已确认，等待对方确认")
    if stage is DealStage.CONTRACT_SIGNED:
        contract = _agreed_contract(deal, contract, pending, now.date())
    if not pending:  # the first of the two confirmations
        return deal.model_copy(update={"pending_stage": stage, "confirmed_by": [participant_id],
                                       "contract": contract, "version": deal.version + 1}), "deal.stage_confirmed.v1"
    return deal.model_copy(update={"stage": stage, "pending_stage": None, "confirmed_by": [],
                                   "entered_at": {**deal.entered_at, stage: now}, "contract": contract,
                                   "version": deal.version + 1}), "deal.stage_reached.v1"


def _agreed_contract(deal: Deal, contract: Contract | None, pending: bool, today: date) -> Contract:
    if not pending:
        if contract is None:
            raise Invalid([Problem(("contract",), "the contract record is required to confirm contract_signed "
                                                  "/ 确认签约须登记合同")])
        validate_contract(contract, today)
        return contract
    assert deal.contract is not None
    if contract is not None and contract != deal.contract:
        raise Conflict("this contract differs from the one the other party recorded; confirm it without a contract "
                       "or close the deal / 合同与对方登记的不一致")
    return deal.contract


def close(deal: Deal, participant_id: str, reason: CloseReason, comment: str | None,
          now: datetime) -> tuple[Deal, str]:
    """Either party closes the deal without a contract, with a reason (and a comment for 'other')."""
    _ensure_party(deal, participant_id)
    _ensure_open(deal)
    if reason is CloseReason.OTHER and not (comment and comment.strip()):
        raise Invalid([Problem(("comment",), "say why when the reason is 'other' / 原因为“其他”时请说明")])
    return deal.model_copy(update={"stage": DealStage.CLOSED, "pending_stage": None, "confirmed_by": [],
                                   "entered_at": {**deal.entered_at, DealStage.CLOSED: now},
                                   "close_reason": reason, "close_comment": comment,
                                   "version": deal.version + 1}), "deal.closed.v1"
