"""Search on FerretDB's terms: every read of a page is an ``_id`` look-up in the search index (heads
and postings in buckets) or of an item, the index follows every change of an item, pages visit every
item once across buckets, and a cursor that is not the caller's to use is a 422 naming it."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest

from services.listing import search_index, storage
from services.listing.app import create_app
from services.listing.domain.common import now
from services.listing.domain.items import ItemQuery
from services.listing.events import item_event
from services.listing.storage import ListingStore
from shared import topics
from shared.events.common import LocalizedText
from shared.events.listing import ItemData, ItemStatus
from shared.kafka import ensure_topics
from shared.locks import KeyedLocks
import shared.mongo
from shared.party_types import Kind, PartyType, Side
from tests.integration.listing.conftest import item_body, listing_settings, register
from tests.support import running

pytestmark = pytest.mark.integration


@pytest.fixture
async def small_buckets(infra, monkeypatch):
    """A listing app whose buckets hold 3 items and whose pages read at most 4 buckets."""
    monkeypatch.setattr(search_index, "BUCKET_SIZE", 3)
    monkeypatch.setattr(storage, "BUCKET_BUDGET", 4)
    settings = listing_settings(infra)
    await ensure_topics(settings, topics.ALL)
    return settings


async def test_search_pages_are_id_lookups_across_buckets(small_buckets, mongo_commands):
    async with running(create_app(small_buckets)) as client:
        university = await register(client, "university", region="CN-SC.CD")
        institute = await register(client, "institute", region="CN-BJ.BJ")
        chips, lasers = [], []
        for n in range(8):  # 16 offers in 6 buckets, chips and lasers alternating
            chips.append((await client.post("/listings", headers=university.headers, json=item_body(
                title={"zh": f"量子芯片测控系统 {n}", "en": f"Quantum chip controller {n}"}, keywords=[],
                description=None, fields=["EIT.QIT"]))).json()["id"])
            lasers.append((await client.post("/listings", headers=institute.headers, json=item_body(
                title={"en": f"Fibre laser {n}"}, keywords=[], description=None, fields=["PHO.LAS"],
                region="CN-BJ.BJ"))).json()["id"])
        writes = [collection for name, collection, _ in mongo_commands.commands if name == "update"]
        # each offer's terms in a few bulk commands (heads, postings, entry), never one per term
        assert writes.count("search_postings") <= 16 * 2 and writes.count("search_heads") <= 16 * 2

        mongo_commands.clear()
        assert await _all(client, university, q="量子芯片", limit=3) == list(reversed(chips))
        assert await _all(client, university, q="fibre laser", region="CN-BJ", limit=5) == list(reversed(lasers))
        assert await _all(client, university, field="PHO", party_type="institute", limit=4) == list(reversed(lasers))
        assert await _all(client, university, limit=7) == sorted(chips + lasers, reverse=True)
        assert await _all(client, university, q="量子芯片", field="PHO") == []
        assert mongo_commands.filters() and mongo_commands.scans() == []
        # 4 searches' pages: per page the terms' heads, the postings of at most 4 buckets, the items
        finds = [name for name, _, _ in mongo_commands.filters() if name == "find"]
        assert len(finds) < 400

        # a change of an item moves it in the index: a new keyword is found, a withdrawn item is not
        patched = await client.patch(f"/listings/{chips[0]}", headers=university.headers,
                                     json={"keywords": ["稀释制冷机"]})
        assert patched.status_code == 200, patched.text
        assert await _all(client, university, q="稀释制冷机") == [chips[0]]
        await client.post(f"/listings/{lasers[1]}/withdraw", headers=institute.headers)
        assert await _all(client, university, q="laser") == list(reversed([lasers[0], *lasers[2:]]))
        assert await _all(client, institute, mine="true", status="withdrawn") == [lasers[1]]
        assert mongo_commands.scans() == []


async def test_a_rare_combination_gives_short_pages_that_go_on(small_buckets):
    """Pages read at most 4 buckets: both words are in every bucket of 6, but together only in the
    oldest item, so the first page is empty with a cursor, and the next finds it."""
    async with running(create_app(small_buckets)) as client:
        party = await register(client, "university")
        first = (await client.post("/listings", headers=party.headers, json=item_body(
            title={"en": "Cryogenic wafer prober"}, keywords=[], description=None))).json()["id"]
        for n in range(17):
            await client.post("/listings", headers=party.headers, json=item_body(
                title={"en": f"Wafer dicing saw {n}" if n % 2 else f"Cryogenic pump {n}"}, keywords=[],
                description=None))
        page = (await client.get("/listings", params={"q": "wafer cryogenic"}, headers=party.headers)).json()
        assert page["items"] == [] and page["next_cursor"] is not None
        page = (await client.get("/listings", params={"q": "wafer cryogenic", "cursor": page["next_cursor"]},
                                 headers=party.headers)).json()
        assert [i["id"] for i in page["items"]] == [first] and page["next_cursor"] is None


async def test_a_cursor_that_is_not_the_callers_is_refused(client):
    mine, theirs = await register(client, "university"), await register(client, "institute")
    for n in range(3):
        await client.post("/listings", headers=mine.headers, json=item_body(title={"en": f"Prober {n}"}))
    cursor = (await client.get("/listings", params={"mine": "true", "limit": 1}, headers=mine.headers)).json()[
        "next_cursor"]
    owner, search, bucket, below = json.loads(base64.urlsafe_b64decode(cursor))
    beyond = base64.urlsafe_b64encode(json.dumps([owner, search, bucket + 1000, below]).encode()).decode()
    for path, params, headers, message in [
        ("/listings", {"mine": "true", "cursor": cursor}, theirs.headers, "another participant"),
        ("/listings", {"mine": "true", "cursor": cursor, "q": "prober"}, mine.headers, "another search"),
        ("/demands", {"mine": "true", "cursor": cursor}, mine.headers, "another search"),
        ("/listings", {"mine": "true", "cursor": beyond}, mine.headers, "stale cursor"),
        ("/listings", {"cursor": base64.urlsafe_b64encode(b'["x", 1]').decode()}, mine.headers, "invalid cursor"),
        ("/listings", {"cursor": "!!"}, mine.headers, "invalid cursor"),
    ]:
        response = await client.get(path, params=params, headers=headers)
        assert response.status_code == 422, (params, response.text)
        [problem] = response.json()["detail"]
        assert problem["loc"] == ["query", "cursor"] and message in problem["msg"]


async def _all(client, party, **params) -> list[str]:
    """Every id the search answers, page after page."""
    seen, cursor = [], None
    while True:
        response = await client.get("/listings", params={**params, **({"cursor": cursor} if cursor else {})},
                                    headers=party.headers)
        assert response.status_code == 200, response.text
        seen += [i["id"] for i in response.json()["items"]]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return seen


async def test_changes_submitted_together_are_written_in_one_batch(infra, mongo_commands):
    """Ten offers created at once: their postings go in a few bulk commands, not one per offer,
    and each offer is found by its own word and by the word they share."""
    settings = listing_settings(infra)
    mongo = shared.mongo.make_client(settings.mongodb_uri)  # after mongo_commands patched it
    store = ListingStore(mongo[settings.database], KeyedLocks())
    at = now()
    offers = [ItemData(id=f"l_{n:02d}", side=Side.OFFER, kind=Kind.TECHNOLOGY, owner_id="p_uni",
                       owner_party_type=PartyType.UNIVERSITY, title=LocalizedText(en=f"Prober {WORDS[n]}"),
                       fields=["EIT.IC"], status=ItemStatus.OPEN, created_at=at, updated_at=at) for n in range(10)]
    try:
        await asyncio.gather(*(store.add_item(offer, item_event(offer, "created")) for offer in offers))
        postings = [c for name, collection, c in mongo_commands.commands
                    if name == "update" and collection == "search_postings"]
        assert 1 <= len(postings) <= 4 and sum(len(c["updates"]) for c in postings) < 10 * 6
        query = ItemQuery("p_uni", False, terms=("prober",))
        found, after = await store.find_items(Side.OFFER, query, start=None, limit=20)
        assert [i.id for i in found] == [o.id for o in reversed(offers)] and after is None
        for n, word in enumerate(WORDS):
            found, _ = await store.find_items(Side.OFFER, ItemQuery("p_uni", False, terms=(word,)), start=None,
                                              limit=20)
            assert [i.id for i in found] == [f"l_{n:02d}"]
    finally:
        await mongo.drop_database(settings.database)
        await mongo.close()


WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"]


async def test_my_item_counts_are_the_index_postings_of_my_owner_term(small_buckets, mongo_commands):
    """A home page's figures: how many offers and needs the caller has, in every status, from the
    heads and postings of their owner term (by _id), no item read."""
    async with running(create_app(small_buckets)) as client:
        university = await register(client, "university")
        institute = await register(client, "institute")
        newcomer = await register(client, "enterprise")
        offers = []
        for n in range(9):  # the university's 5 offers at 0, 2, 4, 6, 8: buckets 0, 1 and 2 of 3 items
            owner = university if n % 2 == 0 else institute
            posted = await client.post("/listings", headers=owner.headers,
                                       json=item_body(title={"en": f"Offer {n}"}, keywords=[], description=None))
            assert posted.status_code == 201, posted.text
            offers.append(posted.json()["id"])
        for n in range(2):
            posted = await client.post("/demands", headers=university.headers,
                                       json=item_body(title={"en": f"Need {n}"}, keywords=[], description=None))
            assert posted.status_code == 201, posted.text
        withdrawn = await client.post(f"/listings/{offers[2]}/withdraw", headers=university.headers)
        assert withdrawn.status_code == 200, withdrawn.text

        mongo_commands.clear()
        counted = await client.get("/participants/me/item-counts", headers=university.headers)
        assert counted.status_code == 200 and counted.json() == {"offers": 5, "needs": 2}  # the withdrawn one too
        assert mongo_commands.lookups() == {"search_heads": 2, "search_postings": 3 + 1}
        assert (await client.get("/participants/me/item-counts", headers=institute.headers)).json() == {
            "offers": 4, "needs": 0}
        mongo_commands.clear()
        assert (await client.get("/participants/me/item-counts", headers=newcomer.headers)).json() == {
            "offers": 0, "needs": 0}
        assert mongo_commands.lookups() == {"search_heads": 2}
        assert (await client.get("/participants/me/item-counts")).status_code == 401
        assert mongo_commands.scans() == []
