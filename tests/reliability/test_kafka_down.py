"""Kafka down while every service that owns an outbox takes writes, then back, with no service
restarted: listing, events_sessions, matching (feedback) and deals run against a broker of the
test's own (tests/reliability/private_broker.py), which is stopped for at least 30 s and started
again. While it is down each service answers its writes (the events wait in its outboxes); once
it is back each relay reconnects by itself and every event staged during the outage is on its
topic exactly once, under its key, and every outbox is empty.

Not here: the monitor, the fifth outbox owner, writes alerts only from samples of Kafka, so it
writes nothing while the broker is unreachable (its relay is the same ``shared.outbox.OutboxRelay``)."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from hardtech.namespace import delete_namespace
from shared import outbox, topics
from shared.events import decode
from shared.kafka import ensure_topics
from shared.mongo import make_client
from shared.settings import CommonSettings
from tests.infrastructure import Endpoints
from tests.reliability.conftest import ServiceProcess, fast_settings, worker_beside
from tests.reliability.private_broker import PrivateBroker, available
from tests.reliability.workload import (
    Apis, Pair, Round, eventually, item_bodies, matches_missing, session_body, topic_records,
)

pytestmark = [pytest.mark.integration, pytest.mark.reliability, pytest.mark.timeout(900)]
log = logging.getLogger(__name__)

# The outbox owners run here, and the collections whose documents carry their outboxes.
OWNERS = {"listing": ("participants", "listings", "demands"), "events_sessions": ("sessions",),
          "matching": ("feedback",), "deals": ("deals", "conversion_priors")}
OUTAGE_SECONDS = 30.0
# What the writes made during the outage stage, per service and event type.
STAGED_WHILE_DOWN = Counter({
    ("listing", "participant.registered.v1"): 2, ("listing", "listing.created.v1"): 1,
    ("listing", "demand.created.v1"): 1, ("listing", "listing.updated.v1"): 1,
    ("events_sessions", "session.created.v1"): 1, ("events_sessions", "registration.confirmed.v1"): 2,
    ("matching", "match.feedback_given.v1"): 2,
    ("deals", "deal.opened.v1"): 1, ("deals", "deal.stage_confirmed.v1"): 1,
})


@pytest.fixture(scope="module")
def private_broker(infra: Endpoints, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateBroker]:
    if (why := available()) is not None:
        pytest.skip(f"no broker of the test's own: {why}")
    broker = PrivateBroker.under(tmp_path_factory.mktemp("kafka-home"))
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
async def owners(infra: Endpoints, private_broker: PrivateBroker, tmp_path: Path
                 ) -> AsyncIterator[dict[str, ServiceProcess]]:
    """The outbox owners as processes on the private broker and the shared store, in a fresh namespace."""
    namespace = f"o{uuid.uuid4().hex[:9]}-"
    common = {"HARDTECH_TOPIC_PREFIX": namespace, "KAFKA_BOOTSTRAP_SERVERS": private_broker.bootstrap,
              "MONGODB_URI": infra.mongodb_uri, "MATCHING_DATADIR": str(tmp_path), **fast_settings(namespace)}
    processes = {name: ServiceProcess(name, namespace, {**common, f"{name.upper()}_DATABASE":
                                                        f"{namespace.rstrip('-')}_{name}"})
                 for name in OWNERS}
    # matching's stream worker: no outbox of its own, but matching's API is ready only beside it
    worker = worker_beside(processes["matching"])
    await ensure_topics(private_broker.settings(namespace), topics.ALL)
    try:
        for process in (*processes.values(), worker):
            process.launch()
        for process in processes.values():
            await asyncio.to_thread(process.wait_ready)
        yield processes
    finally:
        for process in (*processes.values(), worker):
            await asyncio.to_thread(process.stop)
        await delete_namespace(private_broker.bootstrap, infra.mongodb_uri, namespace)


async def staged_events(mongodb_uri: str, owners: dict[str, ServiceProcess]) -> dict[str, dict[str, Any]]:
    """Every event waiting in an outbox: id → service, topic, key and type."""
    mongo = make_client(mongodb_uri)
    found: dict[str, dict[str, Any]] = {}
    try:
        for name, collections in OWNERS.items():
            for collection in collections:
                async for document in mongo[owners[name].database][collection].find({outbox.PENDING: True}):
                    for entry in document[outbox.OUTBOX]:
                        found[entry["id"]] = {"service": name, "topic": entry["topic"], "key": entry["key"],
                                              "type": decode(entry["value"].encode()).type}
    finally:
        await mongo.close()
    return found


async def arrivals(bootstrap: str, namespace: str, events: dict[str, dict[str, Any]]) -> Counter[tuple[str, str]]:
    """How many records on their topics carry each of ``events`` (by event id), with the key staged."""
    counted: Counter[tuple[str, str]] = Counter()
    for topic in sorted({e["topic"] for e in events.values()}):
        for record in await topic_records(bootstrap, f"{namespace}{topic}"):
            event = decode(record.value)
            if event.id in events:
                counted[(event.id, record.key.decode() if record.key else "")] += 1
    return counted


async def test_every_outbox_owner_takes_writes_while_kafka_is_down_and_publishes_each_once_when_it_is_back(
        infra: Endpoints, private_broker: PrivateBroker, owners: dict[str, ServiceProcess]):
    namespace = owners["listing"].namespace
    unused = "http://127.0.0.1:9"  # notification and the monitor do not run here
    apis = Apis.of({"listing": owners["listing"].url, "events_sessions": owners["events_sessions"].url,
                    "matching": owners["matching"].url, "deals": owners["deals"].url, "notification": unused,
                    "monitor": unused}, CommonSettings().operator_secret())
    deals = apis.deals
    round_ = Round(apis, tag=f"o{uuid.uuid4().hex[:6]}", pairs=2)
    mongo = make_client(infra.mongodb_uri)
    try:
        # Before: a session, and one pair matched, known to matching and deals, nothing pending.
        await round_.open_session()
        before = await posted_pair(round_, 0)
        round_.done = [before]
        await eventually(lambda: matches_missing(round_), timeout=240, what="the pair's match before the outage")

        async def deals_knows_the_match() -> str | None:
            known = await mongo[owners["deals"].database]["matches"].find_one({"_id": before.match_id})
            return None if known else f"deals has not read match {before.match_id} yet"

        await eventually(deals_knows_the_match, timeout=120, what="deals to read the match")
        await eventually(lambda: nothing_staged(infra.mongodb_uri, owners), timeout=60,
                         what="every outbox empty before the outage")
        pids = {name: process.proc.pid() for name, process in owners.items()}

        stopped = time.monotonic()
        await asyncio.to_thread(private_broker.stop)
        assert await staged_events(infra.mongodb_uri, owners) == {}
        # Every owner takes writes while no broker answers.
        during = await posted_pair(round_, 1)
        await apis.listing.call("PATCH", f"/listings/{before.offer_id}", token=before.university.token,
                                json={"keywords": ["GaN", round_.tag]})
        assert round_.organiser is not None
        session = await apis.events_sessions.json("POST", "/sessions", json=session_body(f"{round_.tag}b", 2),
                                                  token=round_.organiser.token)
        for party in (before.university, before.enterprise):
            await apis.events_sessions.call("POST", f"/sessions/{session['id']}/registrations",
                                            json={"role": "attendee"}, token=party.token, accept=(201,))
            await apis.matching.call("POST", f"/matches/{before.match_id}/feedback", json={"decision": "accept"},
                                     token=party.token)
        deal = await deals.json("POST", "/deals", json={"match_id": before.match_id}, token=before.university.token)
        await deals.call("POST", f"/deals/{deal['id']}/confirmations", json={"stage": "met"},
                         token=before.university.token)
        staged = await staged_events(infra.mongodb_uri, owners)
        assert Counter((e["service"], e["type"]) for e in staged.values()) == STAGED_WHILE_DOWN
        assert {e["key"] for e in staged.values() if e["type"] == "listing.created.v1"} == {during.offer_id}

        await asyncio.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - stopped)))
        await asyncio.to_thread(private_broker.start)
        log.info("the broker was away for %.0f s", time.monotonic() - stopped)

        counted: Counter[tuple[str, str]] = Counter()

        async def all_arrived() -> str | None:
            counted.clear()
            counted.update(await arrivals(private_broker.bootstrap, namespace, staged))
            missing = sorted(f"{e['service']} {e['type']} {i}" for i, e in staged.items()
                             if not any(event_id == i for event_id, _ in counted))
            return f"not on Kafka yet: {missing}" if missing else None

        await eventually(all_arrived, timeout=240, what="the outboxes to reach Kafka with no restart")
        assert counted == Counter({(i, e["key"]): 1 for i, e in staged.items()}), "each event once, under its key"
        await eventually(lambda: nothing_staged(infra.mongodb_uri, owners), timeout=60, what="every outbox empty")
        assert {name: process.proc.pid() for name, process in owners.items()} == pids, "a service restarted"
    finally:
        await mongo.close()
        await apis.close()


async def posted_pair(round_: Round, n: int) -> Pair:
    university, enterprise = await round_.register("university", n), await round_.register("enterprise", n)
    offer, need = item_bodies(round_.tag, n)
    return Pair(university, enterprise, await round_.post("/listings", university, offer, f"offer-{n}"),
                await round_.post("/demands", enterprise, need, f"need-{n}"))


async def nothing_staged(mongodb_uri: str, owners: dict[str, ServiceProcess]) -> str | None:
    staged = await staged_events(mongodb_uri, owners)
    return f"events still in outboxes: {sorted(e['type'] for e in staged.values())}" if staged else None
