"""Kafka unreachable while the listing API takes writes: a listing process pointed at a port where
no broker listens still answers 201 (the events wait in its outbox) and says it is not ready; once
it reaches Kafka, every event arrives exactly once after dedupe by id, in order per entity, and
flows on into matches and notifications."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest

from shared import topics
from shared.events import decode
from tests.reliability.conftest import ServiceProcess, Stack, drop_database
from tests.support import free_port
from tests.reliability.workload import Api, Apis, Pair, Round, eventually, item_bodies, matches_missing, topic_records

pytestmark = [pytest.mark.integration, pytest.mark.reliability]

PAIRS = 3


@pytest.fixture
async def offline_listing(healthy_stack: Stack) -> AsyncIterator[ServiceProcess]:
    """A second listing process with its own database, in the stack's namespace."""
    listing = healthy_stack["listing"]
    database = f"{listing.database}_offline"
    process = ServiceProcess("listing", healthy_stack.namespace, {**listing.env, "LISTING_DATABASE": database},
                             instance="-offline")
    yield process
    process.stop()
    await drop_database(healthy_stack.endpoints.mongodb_uri, database)


async def test_writes_while_kafka_is_unreachable_arrive_exactly_once_when_it_is_back(
        healthy_stack: Stack, apis: Apis, offline_listing: ServiceProcess):
    nowhere = f"127.0.0.1:{free_port()}"  # nothing listens there
    offline_listing.launch(KAFKA_BOOTSTRAP_SERVERS=nowhere)
    async with httpx.AsyncClient(base_url=offline_listing.url, timeout=10) as http:
        async def up() -> str | None:
            ready = await http.get("/readyz")
            return None if ready.status_code == 503 and "kafka" in ready.text else f"/readyz: {ready.status_code}"

        await eventually(up, timeout=60, what="the listing process to answer, not ready, without Kafka")

    offline_apis = replace(apis, listing=Api(offline_listing.url))
    round_ = Round(offline_apis, tag=f"d{uuid.uuid4().hex[:6]}", pairs=PAIRS)
    pairs = []
    for n in range(PAIRS):  # every write accepted while Kafka cannot be reached
        university, enterprise = await round_.register("university", n), await round_.register("enterprise", n)
        offer, need = item_bodies(round_.tag, n)
        pairs.append(Pair(university, enterprise, await round_.post("/listings", university, offer, f"offer-{n}"),
                          await round_.post("/demands", enterprise, need, f"need-{n}")))
    first = pairs[0]
    await offline_apis.listing.call("PATCH", f"/listings/{first.offer_id}", token=first.university.token,
                                    json={"keywords": ["GaN", round_.tag]})
    await offline_apis.listing.close()

    # the same process, restarted pointed at the broker: the outbox relay publishes what waited
    offline_listing.stop()
    offline_listing.start()
    round_.done = pairs

    expected = {(p.id, "participant.registered.v1") for pair in pairs for p in (pair.university, pair.enterprise)}
    expected |= {(pair.offer_id, "listing.created.v1") for pair in pairs}
    expected |= {(pair.need_id, "demand.created.v1") for pair in pairs}
    expected.add((first.offer_id, "listing.updated.v1"))
    subjects = {subject for subject, _ in expected}
    seen: dict[tuple[str, str], set[str]] = defaultdict(set)  # (entity, type) → event ids
    order: dict[str, list[str]] = defaultdict(list)  # entity → event types in log order

    async def all_arrived() -> str | None:
        seen.clear()
        order.clear()
        for spec in (topics.PARTICIPANTS, topics.LISTINGS, topics.DEMANDS):
            for record in await topic_records(healthy_stack.endpoints.kafka_bootstrap_servers, healthy_stack.topic(spec)):
                if record.key and record.key.decode() in subjects:
                    event = decode(record.value)
                    if event.id not in seen[(event.subject, event.type)]:
                        order[event.subject].append(event.type)
                    seen[(event.subject, event.type)].add(event.id)
        missing = expected - set(seen)
        return f"events not on Kafka yet: {sorted(missing)}" if missing else None

    await eventually(all_arrived, timeout=60, what="the outbox to reach Kafka")
    assert set(seen) == expected, f"unexpected events: {sorted(set(seen) - expected)}"
    twice = {k: ids for k, ids in seen.items() if len(ids) > 1}
    assert not twice, f"one write published as several events (distinct ids): {twice}"
    assert order[first.offer_id] == ["listing.created.v1", "listing.updated.v1"], order[first.offer_id]

    await eventually(lambda: matches_missing(round_), timeout=90, what="matches of what was written offline")
