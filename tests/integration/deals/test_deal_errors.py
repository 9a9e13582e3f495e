"""What the deals API refuses, and why: opening a deal on an unknown match, by a stranger, twice;
skipping a stage; confirming twice; a contract naming an unknown field; closing an ended deal; a
funnel asked for two dimensions at once (and the closing counted by its reason), a session's funnel asked by another organiser."""

from __future__ import annotations

import pytest

from shared.party_types import PartyType, Side
from services.deals.domain.model import deal_id_of
from tests.integration.deals.conftest import CONTRACT, ENT, HOST, UNI, item, match, session
from tests.support import OPERATOR, wait_for

pytestmark = pytest.mark.integration


async def test_refusals_name_the_reason(client, bearer, publish):
    uni, ent, other = bearer(UNI, PartyType.UNIVERSITY), bearer(ENT), bearer("p_deal_other")
    await publish(item("l_err", Side.OFFER, UNI, PartyType.UNIVERSITY, ["BIO.DRUG"], "CN-JS.SZ"),
                  item("d_err", Side.NEED, ENT, PartyType.ENTERPRISE, ["BIO"], "CN-SH"), match("m_err", "l_err", "d_err"))
    store = client._transport.app.state.deals.store
    await wait_for(lambda: store.match("m_err"), timeout=30, what="the match in the service's records")

    unknown = await client.post("/deals", json={"match_id": "m_none"}, headers=ent)
    assert (unknown.status_code, unknown.json()["detail"]) == (404, "no match 'm_none' known to the deals service / 匹配不存在")
    stranger = await client.post("/deals", json={"match_id": "m_err"}, headers=other)
    assert stranger.status_code == 403 and "only a party of the match" in stranger.json()["detail"]
    opened = await client.post("/deals", json={"match_id": "m_err"}, headers=ent)
    assert (opened.status_code, opened.json()["id"], opened.json()["stage"]) == (201, deal_id_of("m_err"), "contacted")
    again = await client.post("/deals", json={"match_id": "m_err"}, headers=uni)
    assert (again.status_code, again.json()["detail"]) == (409, f"the match has a deal already: {deal_id_of('m_err')} / 该匹配已有洽谈")

    path = f"/deals/{deal_id_of('m_err')}"
    skipped = await client.post(f"{path}/confirmations", json={"stage": "term_sheet"}, headers=ent)
    assert skipped.status_code == 409
    assert skipped.json()["detail"].startswith("the deal is at contacted: the next stage is met, not term_sheet")
    assert (await client.post(f"{path}/confirmations", json={"stage": "met"}, headers=ent)).status_code == 200
    twice = await client.post(f"{path}/confirmations", json={"stage": "met"}, headers=ent)
    assert twice.status_code == 409 and twice.json()["detail"].startswith("you confirmed met already")
    not_a_stage = await client.post(f"{path}/confirmations", json={"stage": "won"}, headers=uni)
    assert (not_a_stage.status_code, not_a_stage.json()["detail"][0]["loc"]) == (422, ["body", "stage"])

    for stage in ("met", "due_diligence", "term_sheet"):
        for headers in (uni, ent):
            if (stage, headers) != ("met", ent):
                response = await client.post(f"{path}/confirmations", json={"stage": stage}, headers=headers)
                assert response.status_code == 200, response.text
    bad_field = await client.post(f"{path}/confirmations", headers=uni,
                                  json={"stage": "contract_signed", "contract": {**CONTRACT, "field": "NOPE"}})
    assert (bad_field.status_code, bad_field.json()["detail"][0]["loc"]) == (422, ["body", "contract", "field"])
    bad_amount = await client.post(f"{path}/confirmations", headers=uni,
                                   json={"stage": "contract_signed", "contract": {**CONTRACT, "amount": "-5"}})
    assert (bad_amount.status_code, bad_amount.json()["detail"][0]["loc"]) == (422, ["body", "contract", "amount"])
    no_contract = await client.post(f"{path}/confirmations", json={"stage": "contract_signed"}, headers=uni)
    assert (no_contract.status_code, no_contract.json()["detail"][0]["loc"]) == (422, ["body", "contract"])

    closed = await client.post(f"{path}/close", json={"reason": "price_gap", "comment": "报价差距大"}, headers=uni)
    assert (closed.status_code, closed.json()["stage"], closed.json()["close_reason"]) == (200, "closed", "price_gap")
    after = await client.post(f"{path}/close", json={"reason": "other", "comment": "再试"}, headers=ent)
    assert (after.status_code, after.json()["detail"]) == (409, "the deal is closed and changes no more / 交易已结束，不能再变更")

    organiser = bearer(HOST, PartyType.GOVERNMENT, organiser=True)

    async def closed_counted() -> dict | None:
        figures = (await client.get("/funnel", headers=organiser)).json()
        return figures if figures["closed"] else None

    figures = await wait_for(closed_counted, timeout=30, what="the closing counted")
    assert (figures["closed"], figures["contracts"]) == ({"price_gap": 1}, 0)
    two = await client.get("/funnel", params={"field": "BIO", "region": "CN-SH"}, headers=organiser)
    assert two.status_code == 422 and [d["loc"] for d in two.json()["detail"]] == [["query", "field"], ["query", "region"]]
    assert (await client.get("/funnel", headers=ent)).status_code == 403

    # A session's funnel is its host's (and operators'); another verified organiser is refused.
    await publish(session("s_err", HOST))
    await wait_for(lambda: store.session_host("s_err"), timeout=30, what="the session's host")
    rival = bearer("p_deal_rival", PartyType.GOVERNMENT, organiser=True)
    refused = await client.get("/funnel", params={"session": "s_err"}, headers=rival)
    assert (refused.status_code, refused.json()["detail"]) == (
        403, "only the session's host and operators see its funnel / 仅活动主办方与运维可查看")
    for headers in (organiser, OPERATOR):
        assert (await client.get("/funnel", params={"session": "s_err"}, headers=headers)).status_code == 200
    assert (await client.get("/funnel", params={"field": "BIO"}, headers=rival)).status_code == 200
