"""Every write becomes a CloudEvent on its topic, keyed by the entity id, valid against the
schemas; and no event is lost or duplicated (after dedupe by id) across a Kafka outage."""

from __future__ import annotations

import asyncio
import json

import pytest

from services.listing.app import create_app
from services.listing.storage import ListingStore
from shared import outbox, topics
from shared.events import decode
from shared.kafka import Producer, ensure_topics
from shared.locks import KeyedLocks
from shared.mongo import make_client
from tests.integration.listing.conftest import events_of, item_body, listing_settings, register
from tests.support import read_records, running, wait_for

pytestmark = pytest.mark.integration


async def test_every_write_emits_a_valid_snapshot_event_keyed_by_entity(client, settings):
    party = await register(client, "university")
    await client.patch("/participants/me", json={"language": "en"}, headers=party.headers)
    listing = (await client.post("/listings", json=item_body(), headers=party.headers)).json()
    await client.patch(f"/listings/{listing['id']}", json={"trl": 7}, headers=party.headers)
    await client.post(f"/listings/{listing['id']}/withdraw", headers=party.headers)
    demand = (await client.post("/demands", json=item_body("capital", trl=None), headers=party.headers)).json()

    people = await events_of(settings, topics.PARTICIPANTS, party.id, count=2)
    offers = await events_of(settings, topics.LISTINGS, listing["id"], count=3)
    needs = await events_of(settings, topics.DEMANDS, demand["id"], count=1)

    def checked(records, allowed) -> list:
        events = [decode(r.value, allowed_types=frozenset(allowed)) for r in records]
        assert all(e.source == "/services/listing" and e.subject == r.key.decode() for e, r in zip(events, records, strict=True))
        return events

    people_events = checked(people, topics.PARTICIPANTS.event_types)
    assert [e.type for e in people_events] == ["participant.registered.v1", "participant.updated.v1"]
    assert [e.data.version for e in people_events] == [1, 2] and people_events[1].data.language == "en"
    for record in people:  # no secret ever leaves the service
        assert party.api_key not in record.value.decode() and "api_key" not in json.loads(record.value)["data"]

    offer_events = checked(offers, topics.LISTINGS.event_types)
    assert [e.type for e in offer_events] == ["listing.created.v1", "listing.updated.v1", "listing.withdrawn.v1"]
    assert offer_events[0].data.model_dump(mode="json") == listing  # the event is the API's snapshot
    assert [(e.data.version, e.data.trl, e.data.status) for e in offer_events] == [
        (1, 6, "open"), (2, 7, "open"), (3, 7, "withdrawn")]
    need_events = checked(needs, topics.DEMANDS.event_types)
    assert [e.type for e in need_events] == ["demand.created.v1"] and need_events[0].data.side == "need"


async def test_writes_survive_a_kafka_outage_and_each_event_arrives_once(infra):
    # The API runs against a broker address where nothing listens: it must keep accepting writes.
    down = listing_settings(infra, kafka_bootstrap_servers="127.0.0.1:1")
    async with running(create_app(down)) as client:
        ready = await client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["kafka"] is False
        party = await register(client, "enterprise")
        created = [(await client.post("/demands", json=item_body(title={"en": f"need {n}"}), headers=party.headers))
                   for n in range(3)]
        assert [r.status_code for r in created] == [201, 201, 201]
        first = created[0].json()["id"]
        assert (await client.patch(f"/demands/{first}", json={"trl": 8}, headers=party.headers)).status_code == 200
        assert (await client.post(f"/demands/{first}/withdraw", headers=party.headers)).status_code == 200

    # Kafka is back (the same store, a relay pointed at the real broker): everything staged is published.
    up = down.model_copy(update={"kafka_bootstrap_servers": infra.kafka_bootstrap_servers})
    await ensure_topics(up, topics.ALL)
    mongo = make_client(up.mongodb_uri)
    store = ListingStore(mongo[up.database], KeyedLocks())
    staged = set()
    for collection in store.collections:
        async for document in collection.find({outbox.PENDING: True}):
            staged |= {entry["id"] for entry in document[outbox.OUTBOX]}
    assert len(staged) == 1 + 3 + 2  # registration, three creations, an update and a withdrawal
    producer = Producer(up, client_id="test-relay")
    relay = outbox.OutboxRelay(store.collections, producer, topic_prefix=up.topic_prefix, locks=store.locks)
    await relay.drain_once()
    await relay.drain_once()  # nothing left: a second pass publishes nothing again
    assert relay.published == len(staged) and await relay.pending_count() == 0

    records = []
    for spec, count in ((topics.PARTICIPANTS, 1), (topics.DEMANDS, 5)):
        records += await read_records(up.kafka_bootstrap_servers, spec.full_name(up.topic_prefix), count=count)
    received = [decode(r.value).id for r in records]
    assert set(received) == staged and len(set(received)) == len(staged)
    demands = [decode(r.value) for r in records if r.key == first.encode()]
    assert [e.type for e in demands] == ["demand.created.v1", "demand.updated.v1", "demand.withdrawn.v1"]
    await producer.stop()
    await mongo.drop_database(up.database)
    await mongo.close()


async def test_relay_in_the_running_service_publishes_without_waiting_for_a_poll(infra):
    settings = listing_settings(infra, relay_poll_seconds=30)  # only notify() can make it publish quickly
    await ensure_topics(settings, topics.ALL)
    app = create_app(settings)
    async with running(app) as client:
        party = await register(client, "investor")
        await client.post("/listings", json=item_body("capital", trl=None), headers=party.headers)
        relay = app.state.relay
        await wait_for(lambda: _zero(relay), timeout=10, what="the relay to publish after notify()")


async def _zero(relay: outbox.OutboxRelay) -> bool:
    return await relay.pending_count() == 0


async def test_concurrent_changes_and_the_relay_lose_no_update_and_no_event(client, settings):
    party = await register(client, "institute")
    item = (await client.post("/listings", json=item_body(), headers=party.headers)).json()
    answers = await asyncio.gather(*[client.patch(f"/listings/{item['id']}", json={"keywords": [f"k{n}"]},
                                                  headers=party.headers) for n in range(8)])
    assert {a.status_code for a in answers} <= {200, 409}
    accepted = [a.json() for a in answers if a.status_code == 200]
    final = (await client.get(f"/listings/{item['id']}", headers=party.headers)).json()
    assert final["version"] == 1 + len(accepted)
    assert sorted(a["version"] for a in accepted) == list(range(2, 2 + len(accepted)))
    records = await events_of(settings, topics.LISTINGS, item["id"], count=1 + len(accepted))
    versions = [decode(r.value).data.version for r in records]
    assert versions == list(range(1, 2 + len(accepted)))  # every snapshot, once, in order
