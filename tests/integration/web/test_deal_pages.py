"""The web app's deal pages over the real deals, listing and sessions services (broker and store):
a party's list, the deal page confirming each stage (the contract form with contract_signed, a bad
field shown beside it), closing with a reason (a missing comment for 'other' shown), the amount
on the deal page once signed, and the organiser's funnel counting the contract."""

from __future__ import annotations

import re
from contextlib import AsyncExitStack

import httpx
import pytest

from services.deals.app import create_app as create_deals
from services.deals.settings import Settings as DealsSettings
from services.events_sessions.app import create_app as create_events_sessions
from services.events_sessions.settings import Settings as EventsSessionsSettings
from services.listing.app import create_app as create_listing
from services.listing.settings import Settings as ListingSettings
from services.web.app import create_app as create_web
from services.web.settings import Settings as WebSettings
from shared.auth import Role, issue_token
from shared.party_types import PartyType
from tests.browser.conftest import serving
from tests.support import free_port
from tests.integration.deals.conftest import CONTRACT, ENT, HOST, UNI, match
from tests.support import running, wait_for

pytestmark = pytest.mark.integration
CSRF = "csrf-deal-pages"


async def test_parties_take_a_deal_to_a_contract_on_the_web_pages(make_settings, registry_topics):
    deals_settings = make_settings(DealsSettings)
    token = {pid: issue_token(deals_settings, pid, party)[0]
             for pid, party in ((UNI, PartyType.UNIVERSITY), (ENT, PartyType.ENTERPRISE))}
    token[HOST] = issue_token(deals_settings, HOST, PartyType.GOVERNMENT, frozenset({Role.ORGANISER}))[0]
    deals_app = create_deals(deals_settings)
    async with AsyncExitStack() as stack:
        deals_url = await stack.enter_async_context(serving(deals_app, free_port()))
        listing_url = await stack.enter_async_context(serving(create_listing(make_settings(ListingSettings)),
                                                              free_port()))
        sessions_url = await stack.enter_async_context(
            serving(create_events_sessions(make_settings(EventsSessionsSettings)), free_port()))
        api = await stack.enter_async_context(httpx.AsyncClient(base_url=deals_url))
        web = create_web(make_settings(WebSettings, deals_url=deals_url, listing_url=listing_url,
                                       events_sessions_url=sessions_url))
        app = await stack.enter_async_context(running(web))

        def as_(pid: str) -> dict[str, str]:
            return {"cookie": f"hardtech_session={token[pid]}; hardtech_csrf={CSRF}"}

        for match_id in ("m_web_1", "m_web_2"):  # as the deals service's consumer keeps them
            made = match(match_id, "l_web", "d_web")
            await deals_app.state.deals.receive_match(made.data, made)
        signing, closing = [(await api.post("/deals", json={"match_id": m},
                                            headers={"authorization": f"Bearer {token[ENT]}"})).json()["id"]
                            for m in ("m_web_1", "m_web_2")]

        async def listed() -> bool:
            return len((await app.get("/deals", headers=as_(ENT))).text.split('class="card deal"')) == 3

        await wait_for(listed, timeout=30, what="both deals on the enterprise's list")
        mine = await app.get("/deals", headers=as_(ENT))
        assert mine.status_code == 200 and f'href="/deals/{signing}"' in mine.text and "当前阶段：已接洽" in mine.text

        async def confirm(pid: str, deal_id: str, form: dict) -> httpx.Response:
            return await app.post(f"/deals/{deal_id}/confirm", data={"csrf": CSRF, **form}, headers=as_(pid))

        page = await app.get(f"/deals/{signing}", headers=as_(UNI))
        assert 'name="stage" value="met"' in page.text and "确认：已会面" in page.text
        for stage in ("met", "due_diligence", "term_sheet"):
            for pid in (UNI, ENT):
                answer = await confirm(pid, signing, {"stage": stage})
                assert (answer.status_code, answer.headers["location"]) == (303, f"/deals/{signing}?notice=deals.confirmed")
        form = (await app.get(f"/deals/{signing}", headers=as_(UNI))).text
        assert 'name="contract_type"' in form and 'name="with_contract" value="1"' in form
        contract = {"stage": "contract_signed", "with_contract": "1", **CONTRACT}
        bad = await confirm(UNI, signing, {**contract, "field": "NOPE"})
        assert bad.status_code == 422 and re.search(r'id="field-error">[^<]*未知领域代码', bad.text), bad.text[-2000:]
        assert (await confirm(UNI, signing, contract)).status_code == 303
        waiting = (await app.get(f"/deals/{signing}", headers=as_(UNI))).text
        assert "等待对方确认" in waiting and 'action="/deals/' + signing + '/confirm"' not in waiting
        assert (await confirm(ENT, signing, {"stage": "contract_signed"})).status_code == 303
        signed = (await app.get(f"/deals/{signing}", headers=as_(ENT))).text
        assert "当前阶段：已签约" in signed and "CNY 1,200,000.50" in signed and "技术许可" in signed

        async def close(form: dict) -> httpx.Response:
            return await app.post(f"/deals/{closing}/close", data={"csrf": CSRF, **form}, headers=as_(ENT))

        unexplained = await close({"reason": "other", "comment": ""})
        assert unexplained.status_code == 422 and 'id="comment-error"' in unexplained.text
        assert (await close({"reason": "price_gap", "comment": "报价差距大"})).status_code == 303
        assert "未成交关闭：价格分歧" in (await app.get(f"/deals/{closing}", headers=as_(ENT))).text

        async def counted() -> bool:
            figures = (await api.get("/funnel", headers={"authorization": f"Bearer {token[HOST]}"})).json()
            return figures["contracts"] == 1 and figures["closed"] == {"price_gap": 1}

        await wait_for(counted, timeout=30, what="the contract and the closing counted")
        funnel = await app.get("/funnel", headers=as_(HOST))
        assert funnel.status_code == 200 and "签约合同：1 份" in funnel.text and "CNY 1,200,000.50" in funnel.text
        assert "价格分歧: 1" in funnel.text
        assert 'value="strategy:chengyu"' in funnel.text and 'value="pair:university&gt;enterprise"' in funnel.text
        by_pair = await app.get("/funnel", params={"by": "pair:university>enterprise"}, headers=as_(HOST))
        assert by_pair.status_code == 200 and "按参与方组合（供给 → 需求）：高校 → 科技企业" in by_pair.text
        assert "签约合同：1 份" in by_pair.text and "价格分歧: 1" in by_pair.text
        by_other = await app.get("/funnel", params={"by": "pair:institute>enterprise"}, headers=as_(HOST))
        assert "签约合同：0 份" in by_other.text  # the match's offer was the university's
        assert (await app.get("/funnel", headers=as_(ENT))).status_code == 403  # not an organiser
