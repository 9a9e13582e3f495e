"""The demo's deals: which pairs of each session's agenda it takes on and how, and the contracts it
records, which the deals service's own validation accepts for every session of the data set."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

from hardtech.demo.dataset import load
from hardtech.demo.deals import DealRunner, Plan, Way, contract_of, plans
from services.deals.domain.model import Contract
from services.deals.domain.stages import validate_contract

TODAY = date(2026, 12, 7)


def meeting(slot: int, table: int, a: str, b: str, match_id: str | None) -> dict:
    return {"slot": slot, "table": table, "participant_ids": [a, b], "match_id": match_id}


def test_the_first_pairs_on_a_match_each_once_check_in_accept_and_open():
    session = load().sessions[0]
    agenda = {"meetings": [meeting(1, 0, "p_a", "p_b", "m_ab"), meeting(0, 1, "p_c", "p_d", None),
                           meeting(0, 0, "p_e", "p_f", "m_ef"), meeting(2, 0, "p_a", "p_g", "m_ag"),
                           meeting(2, 1, "p_h", "p_i", "m_hi"), meeting(3, 0, "p_j", "p_k", "m_jk")]}
    planned = plans(session, agenda, TODAY)
    assert [(p.match_id, p.way) for p in planned] == [
        ("m_ef", Way.CHECK_IN), ("m_ab", Way.BOTH_ACCEPTED), ("m_hi", Way.OPENED)]
    assert [p.contract is not None for p in planned] == [True, True, False]
    assert planned[0].participant_ids == ("p_e", "p_f") and {p.session for p in planned} == {session.key}


def test_every_sessions_contracts_pass_the_deals_services_validation():
    for session in load().sessions:
        for index in range(2):
            contract = Contract.model_validate(contract_of(session, index, TODAY))
            validate_contract(contract, TODAY)  # raises Invalid naming the field otherwise
            assert (contract.field, contract.region, contract.signed_on) == (session.fields[0], session.city, TODAY)


def test_a_pair_is_named_by_its_organisations_and_session():
    data = load()
    session, (first, second) = data.sessions[0], data.participants[:2]
    ids = {first.key: "p_first", second.key: "p_second"}
    demo = SimpleNamespace(data=data, loaded=SimpleNamespace(ids=ids, tokens={}))
    plan = Plan(session=session.key, match_id="m_x", participant_ids=("p_first", "p_second"), way=Way.OPENED,
                contract=None)
    assert DealRunner(demo).pair(plan) == (f"{first.organisation.pick('zh')} × {second.organisation.pick('zh')} "
                                           f"({session.title.pick('zh')})")
