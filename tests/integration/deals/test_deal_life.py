"""A pair goes from a match to a signed technology contract through the real broker and store, and
the funnel counts it exactly once in each of its dimensions, even when every event is delivered
again; deal events carry no amount; the parties and operators see the contract, others do not; the
outcome signal of the pair's field and party types is published once."""

from __future__ import annotations

import json

import pytest

from shared import topics
from shared.events import decode
from shared.party_types import PartyType, Side
from shared.settings import DEV_OPERATOR_TOKEN
from services.deals.domain.model import deal_id_of
from tests.integration.deals.conftest import CONTRACT, ENT, HOST, UNI, accepted, agenda, item, match, session
from tests.support import OPERATOR, read_records, wait_for

pytestmark = pytest.mark.integration

STAGES = ("met", "due_diligence", "term_sheet", "contract_signed")
KEYS = {"all": {}, "session:s_deal": {"session": "s_deal"}, "field:5G": {"field": "5G"},
        "region:CN-SC": {"region": "CN-SC"}, "strategy:greater_bay": {"strategy": "greater_bay"},
        "pair:university>enterprise": {"pair": "university>enterprise"}}


def counts(funnel: dict) -> dict[str, int]:
    return {step["step"]: step["count"] for step in funnel["steps"]}


async def test_a_pair_goes_from_match_to_contract_and_the_funnel_counts_it_once(client, settings, bearer, publish):
    organiser = bearer(HOST, PartyType.GOVERNMENT, organiser=True)
    uni, ent = bearer(UNI, PartyType.UNIVERSITY), bearer(ENT)

    async def funnel(params: dict) -> dict:
        response = await client.get("/funnel", params=params, headers=organiser)
        assert response.status_code == 200, response.text
        return response.json()

    async def reached(params: dict, step: str, count: int) -> bool:
        return counts(await funnel(params))[step] == count

    offer = item("l_deal", Side.OFFER, UNI, PartyType.UNIVERSITY, ["5G.RF"], "CN-SC.CD")
    need = item("d_deal", Side.NEED, ENT, PartyType.ENTERPRISE, ["5G"], "CN-GD.SZ")
    await publish(offer, need, session("s_deal", HOST))
    await wait_for(lambda: _items_known(client, 2), timeout=30, what="both items in the service's records")
    await wait_for(lambda: client._transport.app.state.deals.store.session_host("s_deal"), timeout=30,
                   what="the session's host in the service's records")
    made = match("m_deal", "l_deal", "d_deal")
    await publish(made, agenda("s_deal", "m_deal"))
    await wait_for(lambda: reached({"session": "s_deal"}, "made", 1), timeout=30, what="the match made in the session")

    # Both parties accept the match: the deal opens by itself.
    deal_id = deal_id_of("m_deal")
    feedback = [accepted("m_deal", UNI), accepted("m_deal", ENT)]
    await publish(*feedback)
    await wait_for(lambda: _status(client, f"/deals/{deal_id}", uni, 200), timeout=30, what="the deal opened")

    for stage in STAGES:
        body = {"stage": stage, **({"contract": CONTRACT} if stage == "contract_signed" else {})}
        first = await client.post(f"/deals/{deal_id}/confirmations", json=body, headers=ent)
        assert (first.status_code, first.json()["pending_stage"]) == (200, stage), first.text
        second = await client.post(f"/deals/{deal_id}/confirmations", json={"stage": stage}, headers=uni)
        assert (second.status_code, second.json()["stage"]) == (200, stage), second.text

    for name, params in KEYS.items():
        await wait_for(lambda: reached(params, "signed", 1),  # noqa: B023 - awaited in this iteration
                       timeout=30, what=f"the contract counted under {name}")
    before = {name: await funnel(params) for name, params in KEYS.items()}

    # Every input and every deal event delivered again (the same events, ids included).
    deal_records = await read_records(settings.kafka_bootstrap_servers,
                                      topics.DEALS.full_name(settings.topic_prefix), count=9)
    replayed = [offer, need, session("s_deal", HOST), made, agenda("s_deal", "m_deal"), *feedback, *(decode(r.value) for r in deal_records)]
    consumer = client._transport.app.state.consumer
    handled = consumer.stats.processed
    await publish(*replayed)
    await wait_for(lambda: _handled(consumer, handled + len(replayed)), timeout=30, what="the replay consumed")

    for name, params in KEYS.items():
        figures = await funnel(params)
        assert counts(figures) == {"made": 1, "accepted": 1, "met": 1, "signed": 1}, name
        assert (figures["contracts"], figures["turnover"]) == (1, {"CNY": "1200000.50"}), name
        assert figures["steps"] == before[name]["steps"], name
    overall = await funnel({})
    assert [s["conversion"] for s in overall["steps"]] == [None, 1.0, 1.0, 1.0]
    assert all(s["mean_days"] is not None for s in overall["steps"][1:])

    # The outcome signal of the match's field and party-type pair: published once, the replay changing nothing.
    [prior] = await read_records(settings.kafka_bootstrap_servers,
                                 topics.CONVERSION_PRIORS.full_name(settings.topic_prefix), count=1)
    signal = decode(prior.value)
    assert (prior.key.decode(), signal.type) == ("5G|university>enterprise", "conversion.prior_updated.v1")
    assert (signal.data.signed, signal.data.closed, signal.data.prior, signal.data.version) == (1, {}, 0.0, 1)
    stored = await client._transport.app.state.deals.store.priors.find_one({"_id": "outcome:5G|university>enterprise"})
    assert stored["version"] == 1
    assert "1200000" not in prior.value.decode()

    # The deal's events: in order, keyed by the deal id, never an amount.
    assert [decode(r.value).type for r in deal_records] == [
        "deal.opened.v1", *(["deal.stage_confirmed.v1", "deal.stage_reached.v1"] * 4)]
    assert {r.key.decode() for r in deal_records} == {deal_id}
    contract = json.loads(deal_records[-1].value)["data"]["contract"]
    assert set(contract) == {"contract_type", "transfer_mode", "field", "region", "signed_on"}
    assert not any("1200000" in r.value.decode() for r in deal_records)

    # The contract's amount: its parties and operators only.
    for headers, status in ((uni, 200), (ent, 200), (OPERATOR, 200), (organiser, 403), (bearer("p_deal_other"), 403)):
        response = await client.get(f"/deals/{deal_id}", headers=headers)
        assert response.status_code == status, response.text
        if status == 200:
            assert response.json()["contract"]["amount"] == "1200000.50"
    metrics = (await client.get("/metrics", headers={"Authorization": f"Bearer {DEV_OPERATOR_TOKEN}"})).text
    assert 'deals_funnel_steps_total{pair="university>enterprise",step="signed"}' in metrics
    assert 'deals_step_seconds_bucket{le="3600.0",step="signed"}' in metrics
    for dimension, value in (("session", "s_deal"), ("field", "5G"), ("region", "CN-SC"), ("strategy", "greater_bay"),
                             ("pair", "university>enterprise")):  # the process's counters: other tests count too
        assert f'deals_funnel_key_steps_total{{dimension="{dimension}",step="signed",value="{value}"}}' in metrics


async def _items_known(client, count: int) -> bool:
    return await client._transport.app.state.deals.store.items.count_documents({}) == count


async def _handled(consumer, count: int) -> bool:
    return consumer.stats.processed >= count


async def _status(client, path: str, headers: dict, status: int) -> bool:
    return (await client.get(path, headers=headers)).status_code == status


async def test_acceptances_and_an_agenda_that_come_before_their_match_still_count(client, bearer, publish):
    """Topics are not ordered among themselves: what refers to a match may be read before it."""
    organiser = bearer(HOST, PartyType.GOVERNMENT, organiser=True)
    await publish(session("s_early", HOST), accepted("m_early", UNI), accepted("m_early", ENT),
                  agenda("s_early", "m_early"))
    consumer = client._transport.app.state.consumer
    await wait_for(lambda: _handled(consumer, 4), timeout=30, what="the session, acceptances and agenda consumed")
    await publish(match("m_early", "l_early", "d_early"))
    await wait_for(lambda: _status(client, f"/deals/{deal_id_of('m_early')}", bearer(ENT), 200), timeout=30,
                   what="the deal opened once the match came")
    await wait_for(lambda: _handled(consumer, 6), timeout=30, what="the deal's opening consumed")
    figures = await client.get("/funnel", params={"session": "s_early"}, headers=organiser)
    assert counts(figures.json()) == {"made": 1, "accepted": 1, "met": 0, "signed": 0}
