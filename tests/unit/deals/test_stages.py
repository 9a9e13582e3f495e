"""The deal stage machine: one stage at a time, both parties confirm every stage after 'contacted',
the contract record with 'contract_signed', closing with a reason; refusals say why."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from shared.events.deals import CloseReason, ContractType, DealStage
from shared.events.listing import TransferMode
from services.deals.domain import stages
from shared.domain_errors import Conflict, Forbidden, Invalid
from services.deals.domain.model import Contract, Deal, MatchSideRecord, deal_id_of

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
UNI, ENT, OTHER = "p_university", "p_enterprise", "p_other"
OFFER = MatchSideRecord(item_id="l_1", owner_id=UNI, party_type="university")
NEED = MatchSideRecord(item_id="d_1", owner_id=ENT, party_type="enterprise")
CONTRACT = Contract(contract_type=ContractType.LICENCE, amount=Decimal("1200000.00"), currency="CNY",
                    transfer_mode=TransferMode.LICENCE, field="5G", region="CN-SC.CD", signed_on=date(2026, 12, 1))


def opened() -> Deal:
    return stages.open_deal("m_1", OFFER, NEED, opened_by=ENT, now=NOW)


def both(deal: Deal, stage: DealStage, contract: Contract | None = None) -> Deal:
    deal, first = stages.confirm(deal, UNI, stage, contract, NOW)
    deal, second = stages.confirm(deal, ENT, stage, None, NOW + timedelta(days=1))
    assert (first, second) == ("deal.stage_confirmed.v1", "deal.stage_reached.v1")
    return deal


def at_term_sheet() -> Deal:
    deal = opened()
    for stage in (DealStage.MET, DealStage.DUE_DILIGENCE, DealStage.TERM_SHEET):
        deal = both(deal, stage)
    return deal


def test_a_party_opens_a_deal_at_contacted_with_an_id_from_the_match():
    deal = opened()
    assert (deal.id, deal.stage, deal.match_id) == (deal_id_of("m_1"), DealStage.CONTACTED, "m_1")
    assert [(p.participant_id, p.role.value) for p in deal.parties] == [(UNI, "offer"), (ENT, "need")]
    assert stages.open_deal("m_1", OFFER, NEED, opened_by="matching", now=NOW).id == deal.id


def test_a_meeting_held_at_a_session_opens_the_deal_at_contacted_naming_the_session():
    deal = stages.open_deal("m_1", OFFER, NEED, opened_by=stages.MEETING_HELD, now=NOW, session_id="s_1")
    assert (deal.id, deal.stage, deal.session_id) == (deal_id_of("m_1"), DealStage.CONTACTED, "s_1")
    assert deal.data(stages.MEETING_HELD).session_id == "s_1"


def test_only_a_party_of_the_match_opens_a_deal():
    with pytest.raises(Forbidden, match="only a party of the match"):
        stages.open_deal("m_1", OFFER, NEED, opened_by=OTHER, now=NOW)


def test_one_confirmation_makes_a_stage_pending_and_the_others_reaches_it():
    deal, event = stages.confirm(opened(), ENT, DealStage.MET, None, NOW)
    assert (event, deal.stage, deal.pending_stage, deal.confirmed_by) == (
        "deal.stage_confirmed.v1", DealStage.CONTACTED, DealStage.MET, [ENT])
    deal, event = stages.confirm(deal, UNI, DealStage.MET, None, NOW + timedelta(hours=2))
    assert (event, deal.stage, deal.pending_stage, deal.confirmed_by) == (
        "deal.stage_reached.v1", DealStage.MET, None, [])
    assert deal.entered_at == {DealStage.CONTACTED: NOW, DealStage.MET: NOW + timedelta(hours=2)}
    assert deal.version == 3


def test_confirming_twice_is_refused_while_the_other_party_has_not():
    deal, _ = stages.confirm(opened(), ENT, DealStage.MET, None, NOW)
    with pytest.raises(Conflict, match="you confirmed met already; waiting for the other party"):
        stages.confirm(deal, ENT, DealStage.MET, None, NOW)


@pytest.mark.parametrize("stage", [DealStage.DUE_DILIGENCE, DealStage.TERM_SHEET, DealStage.CONTRACT_SIGNED,
                                   DealStage.CONTACTED])
def test_a_stage_other_than_the_next_is_refused_naming_the_next(stage):
    with pytest.raises(Conflict, match=f"the deal is at contacted: the next stage is met, not {stage.value}"):
        stages.confirm(opened(), ENT, stage, CONTRACT, NOW)


def test_a_stage_cannot_be_confirmed_as_closed():
    with pytest.raises(Conflict, match="closed with POST /deals/{id}/close"):
        stages.confirm(opened(), ENT, DealStage.CLOSED, None, NOW)


def test_someone_else_cannot_confirm_or_close():
    with pytest.raises(Forbidden, match="only the deal's parties"):
        stages.confirm(opened(), OTHER, DealStage.MET, None, NOW)
    with pytest.raises(Forbidden, match="only the deal's parties"):
        stages.close(opened(), OTHER, CloseReason.PRICE, None, NOW)


def test_signing_needs_the_contract_from_the_first_party_and_the_same_from_the_second():
    deal = at_term_sheet()
    with pytest.raises(Invalid) as refused:
        stages.confirm(deal, UNI, DealStage.CONTRACT_SIGNED, None, NOW)
    assert [p.loc for p in refused.value.problems] == [("contract",)]
    deal, _ = stages.confirm(deal, UNI, DealStage.CONTRACT_SIGNED, CONTRACT, NOW)
    other = CONTRACT.model_copy(update={"amount": Decimal("900000.00")})
    with pytest.raises(Conflict, match="differs from the one the other party recorded"):
        stages.confirm(deal, ENT, DealStage.CONTRACT_SIGNED, other, NOW)
    signed, event = stages.confirm(deal, ENT, DealStage.CONTRACT_SIGNED, CONTRACT, NOW)
    assert (event, signed.stage, signed.contract) == ("deal.stage_reached.v1", DealStage.CONTRACT_SIGNED, CONTRACT)


def test_a_contract_with_an_unknown_field_region_or_a_future_date_is_invalid_naming_each():
    bad = CONTRACT.model_copy(update={"field": "NOPE", "region": "XX-YY", "signed_on": date(2027, 1, 1)})
    with pytest.raises(Invalid) as refused:
        stages.confirm(at_term_sheet(), UNI, DealStage.CONTRACT_SIGNED, bad, NOW)
    assert [p.loc for p in refused.value.problems] == [("contract", "field"), ("contract", "region"),
                                                       ("contract", "signed_on")]


def test_a_contract_goes_only_with_contract_signed():
    with pytest.raises(Invalid) as refused:
        stages.confirm(opened(), UNI, DealStage.MET, CONTRACT, NOW)
    assert [p.loc for p in refused.value.problems] == [("contract",)]


def test_events_carry_the_contract_without_its_amount():
    deal = both(at_term_sheet(), DealStage.CONTRACT_SIGNED, CONTRACT)
    data = deal.data(changed_by=ENT).model_dump()
    assert set(data["contract"]) == {"contract_type", "transfer_mode", "field", "region", "signed_on"}
    assert "amount" not in data and "1200000" not in deal.data(changed_by=ENT).model_dump_json()


def test_either_party_closes_with_a_reason_and_other_needs_a_comment():
    with pytest.raises(Invalid) as refused:
        stages.close(opened(), UNI, CloseReason.OTHER, "  ", NOW)
    assert [p.loc for p in refused.value.problems] == [("comment",)]
    closed, event = stages.close(opened(), UNI, CloseReason.IP_ISSUES, "专利权属不清", NOW)
    assert (event, closed.stage, closed.close_reason, closed.close_comment) == (
        "deal.closed.v1", DealStage.CLOSED, CloseReason.IP_ISSUES, "专利权属不清")


@pytest.mark.parametrize("ended", ["closed", "signed"])
def test_an_ended_deal_changes_no_more(ended):
    deal = (stages.close(opened(), UNI, CloseReason.PRICE, None, NOW)[0] if ended == "closed"
            else both(at_term_sheet(), DealStage.CONTRACT_SIGNED, CONTRACT))
    with pytest.raises(Conflict, match=f"the deal is {deal.stage.value} and changes no more"):
        stages.close(deal, ENT, CloseReason.PRICE, None, NOW)
    with pytest.raises(Conflict, match="changes no more"):
        stages.confirm(deal, ENT, DealStage.MET, None, NOW)
