"""The demo's deal runner against the real deals service (broker and store): a pair opened by a
party goes to a signed contract, another meets and closes without a deal, and a second run of
both finds every step done and ends where the first did; the report's last section shows the
session's funnel and turnover as its host reads them, and the pairs by name. With the sessions
service too: the demo checks a pair in and the deal their held meeting opened goes to a contract."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

from rich.console import Console

import pytest

from hardtech.demo.client import Api
from hardtech.demo.dataset import load
from hardtech.demo.deals import DealRunner, Plan, Way, contract_of
from shared.events.deals import DealStage
from shared.party_types import PartyType, Side
from hardtech.demo.report import deals_and_funnels
from shared.events.common import LocalizedText
from services.events_sessions.app import create_app as create_events_sessions
from services.events_sessions.settings import Settings as EventsSessionsSettings
from tests.integration.deals.conftest import ENT, HOST, UNI, agenda, item, match, session
from tests.security import bodies
from tests.support import running, wait_for

pytestmark = pytest.mark.integration


async def test_the_demo_takes_one_pair_to_a_contract_and_closes_another(client, bearer, publish):
    store = client._transport.app.state.deals.store
    await publish(item("l_demo", Side.OFFER, UNI, PartyType.UNIVERSITY, ["5G.RF"], "CN-SC.CD"),
                  item("d_demo", Side.NEED, ENT, PartyType.ENTERPRISE, ["5G"], "CN-SC.CD"),
                  session("s_demo", HOST), match("m_demo_1", "l_demo", "d_demo"), match("m_demo_2", "l_demo", "d_demo"),
                  agenda("s_demo", "m_demo_1"), agenda("s_demo", "m_demo_2"))

    async def known() -> bool:
        return len(((await store.match("m_demo_2")) or {}).get("sessions", [])) == 1

    await wait_for(known, timeout=30, what="the matches and the agendas in the service's records")
    pitch = load().sessions[0]
    api = Api("http://testserver")
    await api.close()
    api._client = client  # the demo's client, talking to the service in-process
    tokens = {key: bearer(pid)["authorization"].removeprefix("Bearer ") for key, pid in (("uni", UNI), ("ent", ENT))}
    tokens[pitch.organiser] = bearer(HOST, PartyType.GOVERNMENT, organiser=True)["authorization"].removeprefix("Bearer ")
    people = [SimpleNamespace(key=key, organisation=LocalizedText(zh=name)) for key, name in (("uni", "电子科大"), ("ent", "芯科"))]
    demo = SimpleNamespace(api={"deals": api}, data=SimpleNamespace(sessions=[pitch], participants=people),
                           loaded=SimpleNamespace(ids={"uni": UNI, "ent": ENT, pitch.key: "s_demo"}, tokens=tokens))
    contract = contract_of(pitch, 0, datetime.now(UTC).date())
    signing = Plan(session=pitch.key, match_id="m_demo_1", participant_ids=(UNI, ENT), way=Way.OPENED,
                   contract=contract)
    closing = Plan(session=pitch.key, match_id="m_demo_2", participant_ids=(ENT, UNI), way=Way.OPENED, contract=None)
    runner = DealRunner(demo)
    for _ in range(2):  # the second run is a re-run on the same stack
        signed, closed = await runner.take(signing), await runner.take(closing)
        assert (signed.stage, closed.stage) == (DealStage.CONTRACT_SIGNED, DealStage.CLOSED)
    demo.deals = [signed, closed]
    mine = {d["match_id"]: d for d in (await client.get("/me/deals", headers=bearer(ENT))).json()["items"]}
    assert (mine["m_demo_1"]["contract"]["amount"], mine["m_demo_1"]["contract"]["field"]) == ("1200000.00", "5G")
    assert (mine["m_demo_2"]["stage"], mine["m_demo_2"]["pending_stage"]) == ("closed", None)
    deal = (await client.get(f"/deals/{mine['m_demo_2']['id']}", headers=bearer(UNI))).json()
    assert (deal["close_reason"], set(deal["entered_at"])) == ("price_gap", {"contacted", "met", "closed"})

    async def counted() -> bool:
        figures = (await client.get("/funnel", params={"session": "s_demo"}, headers=bearer(HOST, organiser=True))).json()
        return figures["contracts"] == 1 and figures["closed"] == {"price_gap": 1}

    await wait_for(counted, timeout=30, what="the contract and the closing in the session's funnel")
    out = Console(record=True, width=200)
    await deals_and_funnels(demo, out)
    report = out.export_text()
    assert "科技成果直通车·成都高新区5G通信“硬科技”专场" in report and "CNY 1,200,000.00" in report and "价格分歧 price gap: 1" in report
    assert "电子科大 ⇄ 芯科: 一方发起 / opened by a party → 已签约 contract signed, 技术许可 licence, CNY 1,200,000.00" in report
    assert "芯科 ⇄ 电子科大: 一方发起 / opened by a party → 未成交关闭 closed without a deal" in report


async def test_the_demo_checks_a_pair_in_and_their_held_meeting_opens_the_deal(client, settings, make_settings,
                                                                                bearer, publish):
    """Through the sessions service as well: the organiser checks both in by their codes, the
    deals service opens the deal from the check-ins, and the pair signs."""
    sessions_app = create_events_sessions(make_settings(EventsSessionsSettings))
    async with running(sessions_app) as sessions_client:
        host = bearer(HOST, PartyType.GOVERNMENT, organiser=True)
        created = await sessions_client.post("/sessions", json=bodies.session(), headers=host)
        assert created.status_code == 201, created.text
        session_id = created.json()["id"]
        for pid, party in ((UNI, PartyType.UNIVERSITY), (ENT, PartyType.ENTERPRISE)):
            seat = await sessions_client.post(f"/sessions/{session_id}/registrations", json={"role": "attendee"},
                                              headers=bearer(pid, party))
            assert seat.status_code == 201, seat.text
        await publish(match("m_held", "l_held", "d_held"), agenda(session_id, "m_held"))
        store = client._transport.app.state.deals.store
        await wait_for(lambda: _meets(store, session_id), timeout=30, what="the agenda's meeting in the deals service")

        sessions_api, deals_api = Api("http://testserver"), Api("http://testserver")
        for api, http in ((sessions_api, sessions_client), (deals_api, client)):
            await api.close()
            api._client = http  # the demo's clients, talking to the services in-process
        tokens = {key: bearer(pid, party)["authorization"].removeprefix("Bearer ")
                  for key, pid, party in (("uni", UNI, PartyType.UNIVERSITY), ("ent", ENT, PartyType.ENTERPRISE))}
        tokens["host"] = host["authorization"].removeprefix("Bearer ")
        pitch = SimpleNamespace(key="pitch", organiser="host")
        demo = SimpleNamespace(api={"events_sessions": sessions_api, "deals": deals_api},
                               data=SimpleNamespace(sessions=[pitch]),
                               loaded=SimpleNamespace(ids={"uni": UNI, "ent": ENT, "pitch": session_id}, tokens=tokens))
        contract = contract_of(load().sessions[0], 0, datetime.now(UTC).date())
        outcome = await DealRunner(demo).take(Plan(session="pitch", match_id="m_held", participant_ids=(UNI, ENT),
                                                   way=Way.CHECK_IN, contract=contract))
        assert outcome.stage is DealStage.CONTRACT_SIGNED
    [deal] = (await client.get("/me/deals", headers=bearer(UNI, PartyType.UNIVERSITY))).json()["items"]
    assert (deal["match_id"], deal["session"]["id"], deal["stage"]) == ("m_held", session_id, "contract_signed")


async def _meets(store, session_id: str) -> bool:
    return await store.meetings_of(session_id, ENT) == ["m_held"]
