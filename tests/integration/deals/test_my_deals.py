"""A participant's deals through the real broker and store: a deal one party opened and a deal a
meeting held at a session opened (both parties checked in), listed newest first with the
counterpart and the session by name and the items by title, page by page; each deal listed once
even when its events are delivered again; nobody else's deals; a bad cursor named."""

from __future__ import annotations

import asyncio

import pytest

from services.deals.app import create_app
from shared import outbox, topics
from shared.events import decode
from shared.party_types import PartyType
from services.deals.domain.model import deal_id_of
from tests.integration.deals.conftest import ENT, HOST, UNI, agenda, checked_in, match, named, session
from tests.support import read_records, running, wait_for

pytestmark = pytest.mark.integration
UNI2 = "p_deal_uni2"


async def test_a_participant_lists_its_deals_by_name_newest_first(client, settings, bearer, publish):
    store = client._transport.app.state.deals.store
    ent, uni = bearer(ENT), bearer(UNI, PartyType.UNIVERSITY)
    await publish(named(UNI, "电子科技大学", "王教授"), named(UNI2, "四川大学", "李教授"), named(ENT, "成都芯科", "张工"),
                  session("s_mine", HOST), match("m_mine_1", "l_m1", "d_m1"),
                  match("m_mine_2", "l_m2", "d_m2", offer_owner=UNI2), agenda("s_mine", "m_mine_2", offer_owner=UNI2))

    async def known() -> bool:
        return (len(await store.participant_names([UNI, UNI2, ENT])) == 3 and await store.match("m_mine_1") is not None
                and "s_mine" in ((await store.match("m_mine_2")) or {}).get("sessions", []))

    await wait_for(known, timeout=30, what="the names, both matches and the agenda in the service's records")
    opened = await client.post("/deals", json={"match_id": "m_mine_1"}, headers=ent)
    assert opened.status_code == 201, opened.text
    await wait_for(lambda: _listed(client, ent, 1), timeout=30, what="the opened deal listed")
    first = (await client.get("/me/deals", headers=ent)).json()
    assert ([d["id"] for d in first["items"]], first["next_cursor"]) == ([deal_id_of("m_mine_1")], None)

    # Both parties of the second match check in at the session where the agenda put them together.
    await publish(checked_in("s_mine", UNI2), checked_in("s_mine", ENT))
    held = deal_id_of("m_mine_2")
    await wait_for(lambda: _listed(client, ent, 2), timeout=30, what="the deal the held meeting opened")

    page = (await client.get("/me/deals", params={"limit": 1}, headers=ent)).json()
    [newest] = page["items"]
    assert (newest["id"], newest["stage"], newest["role"], newest["waiting_for_you"]) == (held, "contacted", "need", False)
    assert (newest["counterpart"]["organisation"], newest["counterpart"]["display_name"]) == (
        {"zh": "四川大学", "en": None}, {"zh": "李教授", "en": None})
    assert (newest["your_item"]["zh"], newest["their_item"]["zh"]) == ("射频芯片 d_m2", "射频芯片 l_m2")
    assert newest["session"] == {"id": "s_mine", "title": {"zh": "成渝硬科技路演", "en": "Chengdu-Chongqing hard-tech pitch"}}
    rest = (await client.get("/me/deals", params={"limit": 1, "cursor": page["next_cursor"]}, headers=ent)).json()
    assert ([d["id"] for d in rest["items"]], rest["next_cursor"]) == ([deal_id_of("m_mine_1")], None)
    assert (rest["items"][0]["counterpart"]["organisation"]["zh"], rest["items"][0]["session"]) == ("电子科技大学", None)

    # The counterpart confirms 'met' on the first deal: it now waits for the enterprise.
    assert (await client.post(f"/deals/{deal_id_of('m_mine_1')}/confirmations", json={"stage": "met"},
                              headers=uni)).status_code == 200
    waiting = (await client.get("/me/deals", headers=ent)).json()["items"]
    assert [(d["id"], d["pending_stage"], d["waiting_for_you"]) for d in waiting] == [
        (held, None, False), (deal_id_of("m_mine_1"), "met", True)]
    assert [d["id"] for d in (await client.get("/me/deals", headers=uni)).json()["items"]] == [deal_id_of("m_mine_1")]
    assert (await client.get("/me/deals", headers=bearer("p_deal_nobody"))).json() == {"items": [], "next_cursor": None}

    # Every deal event delivered again: each deal is still listed once.
    records = await read_records(settings.kafka_bootstrap_servers, topics.DEALS.full_name(settings.topic_prefix), count=3)
    consumer = client._transport.app.state.consumer
    handled = consumer.stats.processed
    await publish(*(decode(r.value) for r in records), checked_in("s_mine", ENT))
    await wait_for(lambda: _handled(consumer, handled + len(records) + 1), timeout=30, what="the replay consumed")
    assert [d["id"] for d in (await client.get("/me/deals", headers=ent)).json()["items"]] == [
        held, deal_id_of("m_mine_1")]

    bad = await client.get("/me/deals", params={"cursor": "bm90LWEtbGlzdA=="}, headers=ent)
    assert (bad.status_code, bad.json()["detail"][0]["loc"]) == (422, ["query", "cursor"])
    stranger_cursor = await client.get("/me/deals", params={"cursor": "WyJ4Il0="}, headers=ent)  # ["x"]
    assert (stranger_cursor.status_code, stranger_cursor.json()["detail"][0]["loc"]) == (422, ["query", "cursor"])


async def _listed(client, headers: dict, count: int) -> bool:
    return len((await client.get("/me/deals", headers=headers)).json()["items"]) == count


async def _handled(consumer, count: int) -> bool:
    return consumer.stats.processed >= count


async def test_listing_takes_one_number_per_deal_across_writers_and_after_a_crash(client):
    """Two deals of one participant listed at once take two numbers; a deal whose entry was written
    before a crash (no mark yet) keeps that entry when it is listed again."""
    store = client._transport.app.state.deals.store
    await asyncio.gather(store.list_deal("p_busy", "d_a"), store.list_deal("p_busy", "d_b"))
    await store.listed.insert_one({"_id": "p_busy#0000000003", "deal_id": "d_c"})  # the crash: entry, no mark
    await store.list_deal("p_busy", "d_c")
    await store.list_deal("p_busy", "d_a")  # delivered again
    assert await store.last_listed("p_busy") == 3
    listed = await store.listed_deals("p_busy", [3, 2, 1])
    assert ([n for n, _ in listed], {d for _, d in listed}) == ([3, 2, 1], {"d_a", "d_b", "d_c"})


async def test_a_page_of_ones_deals_is_id_lookups_only(settings, bearer, mongo_commands):
    """12 deals, pages of 5: every read the list makes selects one ``_id`` (FerretDB v1 scans for
    any other filter), so a page costs the same however many deals there are."""
    app = create_app(settings)
    async with running(app) as client:
        service = app.state.deals
        for n in range(12):
            made = match(f"m_page_{n:02d}", f"l_page_{n:02d}", f"d_page_{n:02d}")
            await service.receive_match(made.data, made)
            await service.open(f"m_page_{n:02d}", ENT)
        await wait_for(lambda: _all_listed(service.store, 12), timeout=60, what="the 12 deals listed")
        ent = bearer(ENT)
        mongo_commands.clear()
        seen, sizes, cursor = [], [], None
        while True:
            page = (await client.get("/me/deals", params={"limit": 5, **({"cursor": cursor} if cursor else {})},
                                     headers=ent)).json()
            seen += [d["match_id"] for d in page["items"]]
            sizes.append(len(page["items"]))
            cursor = page["next_cursor"]
            if cursor is None:
                break
        # in the order they were listed (the deals topic's partitions interleave the openings)
        assert (sizes, sorted(seen)) == ([5, 5, 2], [f"m_page_{n:02d}" for n in range(12)])
        reads = [s for s in mongo_commands.scans() if outbox.PENDING not in s[2]]  # the relay's own sweep aside
        assert mongo_commands.filters() and reads == []


async def _all_listed(store, count: int) -> bool:
    return await store.last_listed(ENT) == count
