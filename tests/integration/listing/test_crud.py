"""Participants of all six party types post, read, change and withdraw offers and needs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest
from pymongo.asynchronous.collection import AsyncCollection

from services.listing.app import create_app
from services.listing.domain.common import now
from services.listing.storage import ListingStore
from shared import outbox
from shared.locks import KeyedLocks
from shared.auth import key_fingerprint, new_api_key
from shared.mongo import make_client
from shared.party_types import NEED_RULES, OFFER_RULES, PartyType, Side
from tests.integration.listing.conftest import item_body, register
from tests.support import running, wait_for

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("party_type", list(PartyType))
async def test_crud_flow_for_each_party_type(client, settings, party_type: PartyType):
    party = await register(client, party_type.value)
    assert "api_key_hash" not in party.profile and party.profile["api_key"].startswith("htx_")
    claims = jwt.decode(party.headers["Authorization"].split()[1], options={"verify_signature": False})
    assert claims["sub"] == party.id and claims["pty"] == party_type.value
    assert claims["roles"] == ["participant"]  # organisers are granted by an operator, never at sign-up

    offer_kind = sorted(OFFER_RULES[party_type])[0].value
    need_kind = sorted(NEED_RULES[party_type])[0].value
    for path, kind in (("/listings", offer_kind), ("/demands", need_kind)):
        created = await client.post(path, json=item_body(kind, status="draft"), headers=party.headers)
        assert created.status_code == 201, created.text
        item = created.json()
        assert item["owner_id"] == party.id and item["owner_party_type"] == party_type.value
        assert item["side"] == ("offer" if path == "/listings" else "need") and item["version"] == 1
        assert item["amount"]["currency"] == "CNY"

        read = await client.get(f"{path}/{item['id']}", headers=party.headers)
        assert read.status_code == 200 and read.json() == item

        opened = await client.patch(f"{path}/{item['id']}", headers=party.headers,
                                    json={"status": "open", "trl": None, "keywords": ["射频"]})
        assert opened.status_code == 200, opened.text
        assert opened.json()["status"] == "open" and opened.json()["trl"] is None
        assert opened.json()["keywords"] == ["射频"] and opened.json()["version"] == 2

        mine = await client.get(path, params={"mine": "true"}, headers=party.headers)
        assert [i["id"] for i in mine.json()["items"]] == [item["id"]]

        withdrawn = await client.post(f"{path}/{item['id']}/withdraw", headers=party.headers)
        assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
        again = await client.patch(f"{path}/{item['id']}", json={"trl": 7}, headers=party.headers)
        assert again.status_code == 409 and "withdrawn" in again.json()["detail"]


async def test_participant_reads_and_updates_own_profile(client):
    party = await register(client, "enterprise")
    me = await client.get("/participants/me", headers=party.headers)
    assert me.status_code == 200 and me.json()["id"] == party.id and "api_key" not in me.json()

    changed = await client.patch("/participants/me", headers=party.headers,
                                 json={"display_name": {"en": "R&D"}, "language": "en", "webhook_url": None})
    assert changed.status_code == 200, changed.text
    assert changed.json()["display_name"] == {"zh": None, "en": "R&D"} and changed.json()["version"] == 2

    other = await register(client, "investor")
    seen = await client.get(f"/participants/{party.id}", headers=other.headers)
    assert seen.status_code == 200 and seen.json()["language"] == "en"
    assert set(seen.json()) == {"id", "party_type", "organisation", "display_name", "region", "fields", "language",
                                "organiser"}  # never another's e-mail or webhook address
    missing = await client.get("/participants/p_nobody", headers=other.headers)
    assert missing.status_code == 404 and "p_nobody" in missing.json()["detail"]


async def test_several_participants_public_profiles_at_once(client):
    first, second = await register(client, "university"), await register(client, "investor")
    asker = await register(client, "enterprise")
    found = await client.get("/participants", params=[("id", second.id), ("id", "p_nobody"), ("id", first.id),
                                                      ("id", second.id)], headers=asker.headers)
    assert found.status_code == 200, found.text
    assert [p["id"] for p in found.json()["items"]] == [second.id, first.id]
    assert {frozenset(p) for p in found.json()["items"]} == {frozenset(
        {"id", "party_type", "organisation", "display_name", "region", "fields", "language", "organiser"})}
    none = await client.get("/participants", headers=asker.headers)
    assert none.status_code == 422 and none.json()["detail"][0]["loc"] == ["query", "id"]
    too_many = await client.get("/participants", params=[("id", f"p_{n}") for n in range(101)],
                                headers=asker.headers)
    assert too_many.status_code == 422 and too_many.json()["detail"][0]["loc"] == ["query", "id"]
    assert (await client.get("/participants", params={"id": first.id})).status_code == 401


async def test_search_by_filters_and_free_text_in_both_languages(client):
    university = await register(client, "university", region="CN-SC.CD")
    institute = await register(client, "institute", region="CN-BJ.BJ")
    chip = (await client.post("/listings", headers=university.headers, json=item_body(
        title={"zh": "量子芯片低温测控系统"}, keywords=[], description=None, fields=["EIT.QIT"]))).json()
    laser = (await client.post("/listings", headers=institute.headers, json=item_body(
        title={"en": "Ultrafast fibre laser for micro-machining"}, description=None, keywords=[],
        fields=["PHO.LAS"], region="CN-BJ.BJ"))).json()
    pilot = (await client.post("/listings", headers=institute.headers, json=item_body(
        title={"en": "C++ toolkit for 166 GHz front-ends"}, description=None, keywords=[],
        fields=["5G.RF"], region="CN-SH.SH"))).json()
    draft = (await client.post("/listings", headers=institute.headers, json=item_body(
        title={"en": "Secret fibre laser draft"}, status="draft", fields=["PHO.LAS"]))).json()

    async def ids(**params) -> list[str]:
        response = await client.get("/listings", params=params, headers=university.headers)
        assert response.status_code == 200, response.text
        return [i["id"] for i in response.json()["items"]]

    assert await ids(q="量子芯片") == [chip["id"]]
    assert await ids(q="fibre LASER") == [laser["id"]]  # the other's draft stays hidden
    assert await ids(field="EIT") == [chip["id"]]  # a field includes its sub-fields
    assert await ids(region="CN-BJ", field="PHO") == [laser["id"]]  # a province includes its cities
    assert await ids(party_type="institute", q="laser") == [laser["id"]]
    assert await ids(status="draft", q="laser") == []  # others' drafts are not listed
    # whole terms only, and a term's dots and pluses are not patterns
    assert await ids(q="166 c++") == [pilot["id"]]
    assert await ids(q="1.6") == [] and await ids(q="front") == [] and await ids(q="las") == []
    hidden = await client.get(f"/listings/{draft['id']}", headers=university.headers)
    assert hidden.status_code == 404


async def test_what_earlier_versions_stored_is_upgraded_once(client, settings, app):
    """Earlier versions stored an item's terms as an array, and a participant's API key as an
    unsalted SHA-256 on the participant (with a unique index on it), and had no search index; the
    store rewrites both and builds the index at start."""
    party = await register(client, "university")
    item = (await client.post("/listings", headers=party.headers, json=item_body(
        title={"en": "Cryogenic wafer prober"}, description=None, keywords=[]))).json()
    legacy_key = new_api_key()
    mongo = make_client(settings.mongodb_uri)
    try:
        store = ListingStore(mongo[settings.database], KeyedLocks())
        offers = store.items[Side.OFFER]
        # FerretDB v1 rewrites a whole document per update, so this write, made outside the
        # service's locks, must not overlap the relay's removal of the item's published event
        await wait_for(lambda: _published(offers, item["id"]), what="the relay to publish the item's event")
        await offers.update_one({"_id": item["id"]}, {"$set": {"terms": ["cryogenic", "prober"]}})
        await store.participants.create_index("api_key_hash", unique=True)
        legacy = {k: v for k, v in party.profile.items() if k not in ("id", "api_key", "api_key_note")}
        await store.participants.insert_one({**legacy, "_id": "p_legacy", "api_key_hash": key_fingerprint(legacy_key)})
        digest_of = app.state.listing.digest_of
        assert await store.upgrade(digest_of) == 0  # done when the service started
        await store.upgrades.delete_many({})  # as in a database of an earlier version
        items = sum([await collection.count_documents({}) for collection in store.items.values()])
        # the item's terms, the participant's key, and every item into the search index
        assert await store.upgrade(digest_of) == 2 + items
        assert await store.upgrade(digest_of) == 0
        assert "api_key_hash_1" not in await store.participants.index_information()
    finally:
        await mongo.close()
    found = await client.get("/listings", params={"q": "prober cryogenic"}, headers=party.headers)
    assert [i["id"] for i in found.json()["items"]] == [item["id"]]
    token = await client.post("/auth/token", json={"api_key": legacy_key})
    assert token.status_code == 200
    assert jwt.decode(token.json()["access_token"], options={"verify_signature": False})["sub"] == "p_legacy"


async def _published(collection: AsyncCollection, item_id: str) -> bool:
    return await collection.find_one({"_id": item_id, outbox.PENDING: True}) is None


async def test_cursor_pagination_visits_every_item_once(client):
    party = await register(client, "enterprise")
    created = []
    for n in range(5):
        response = await client.post("/demands", headers=party.headers,
                                     json=item_body("capital", title={"en": f"Series A round {n}"}, trl=None))
        created.append(response.json()["id"])
    seen, cursor = [], None
    while True:
        params = {"mine": "true", "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/demands", params=params, headers=party.headers)).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(created))  # newest first
    bad = await client.get("/demands", params={"cursor": "not-a-cursor"}, headers=party.headers)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "cursor"]


async def test_items_past_expiry_become_expired_and_leave_search(app, client):
    party = await register(client, "agency")
    soon = (datetime.now(UTC) + timedelta(seconds=30)).isoformat()
    item = (await client.post("/listings", headers=party.headers,
                              json=item_body("service", expires_at=soon, trl=None))).json()
    service = app.state.listing
    assert await service.expire_due(now()) == 0
    assert await service.expire_due(now() + timedelta(seconds=31)) >= 1
    expired = await client.get(f"/listings/{item['id']}", headers=party.headers)
    assert expired.json()["status"] == "expired" and expired.json()["version"] == 2
    listed = await client.get("/listings", params={"q": "GaN", "party_type": "agency"}, headers=party.headers)
    assert item["id"] not in [i["id"] for i in listed.json()["items"]]


async def test_expiries_are_read_once_at_start_and_kept_in_memory(client, settings):
    """A restarted service reads the live items' expiries once, then expires each by its id."""
    party = await register(client, "agency")
    soon = (datetime.now(UTC) + timedelta(seconds=30)).isoformat()
    item = (await client.post("/listings", headers=party.headers,
                              json=item_body("service", expires_at=soon, trl=None))).json()
    restarted = create_app(settings)
    async with running(restarted):
        service = restarted.state.listing
        assert await service.expire_due(now()) == 0
        assert await service.expire_due(now() + timedelta(seconds=31)) >= 1
        assert await service.expire_due(now() + timedelta(seconds=31)) == 0  # each expired once
    expired = await client.get(f"/listings/{item['id']}", headers=party.headers)
    assert expired.json()["status"] == "expired"
