"""The shared no-loss mechanisms against the real broker and store: the outbox relay and the
dead-lettering consumer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaConnectionError
from pymongo import monitoring
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import AutoReconnect, DuplicateKeyError, ServerSelectionTimeoutError

from shared import outbox, topics
from shared.events import CloudEvent, decode, new_event
from shared.events.common import LocalizedText
from shared.events.monitor import AlertData, Severity
from shared.kafka import DLQ_REASON, EventConsumer, Producer
from shared.locks import KeyedLocks
from shared.mongo import make_client
from shared.service import Resources
from shared.settings import CommonSettings, ServiceSettings
from tests.support import read_events, read_records, wait_for

pytestmark = pytest.mark.integration


def _alert(n: int) -> CloudEvent:
    data = AlertData(alert_id="a1", rule="lag", severity=Severity.WARNING, subject="g", value=n, threshold=1,
                     message=LocalizedText(en=f"alert {n}"), since=datetime.now(UTC))
    return new_event("alert.raised.v1", data, source="/tests", subject="a1")


async def _published(settings: CommonSettings, count: int) -> list[str]:
    received = await read_events(settings.kafka_bootstrap_servers, topics.ALERTS.full_name(settings.topic_prefix),
                                 count=count)
    return [e.id for e in received]


@asynccontextmanager
async def _relay_world(settings: CommonSettings, namespace: str,
                       **client_options: Any) -> AsyncIterator[tuple[AsyncCollection, outbox.OutboxRelay]]:
    """A collection of this test's own and a relay over it, publishing to the real broker."""
    mongo = make_client(settings.mongodb_uri, **client_options)
    producer = Producer(settings, client_id="test")
    collection = mongo[f"{namespace}db"]["entities"]
    try:
        yield collection, outbox.OutboxRelay([collection], producer, topic_prefix=settings.topic_prefix,
                                             locks=KeyedLocks())
    finally:
        await producer.stop()
        await mongo.close()


async def test_outbox_relay_publishes_in_order_exactly_what_was_staged(registry_topics: CommonSettings, namespace):
    settings = registry_topics
    events = [_alert(n) for n in range(5)]
    async with _relay_world(settings, namespace) as (collection, relay):
        await collection.insert_one(outbox.with_outbox({"_id": "e1", "v": 0},
                                                       outbox.entry(events[0], topics.ALERTS, "a1")))
        for n, event in enumerate(events[1:], start=1):
            await collection.update_one({"_id": "e1"}, outbox.merge_update({"$set": {"v": n}},
                                                                           outbox.entry(event, topics.ALERTS, "a1")))
        await relay.drain_once()
        assert await _published(settings, 5) == [e.id for e in events]
        assert await relay.pending_count() == 0
        document = await collection.find_one({"_id": "e1"})
        assert document["v"] == 4 and document[outbox.OUTBOX] == []


class _Finds(monitoring.CommandListener):
    """Counts the ``find`` commands a client sends."""

    def __init__(self) -> None:
        self.count = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.count += event.command_name == "find"

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


async def test_relay_publishes_what_writers_hand_it_without_reading_documents(registry_topics: CommonSettings,
                                                                                namespace):
    settings = registry_topics
    finds = _Finds()
    events = [_alert(n) for n in range(40)]
    async with _relay_world(settings, namespace, event_listeners=[finds]) as (collection, relay):
        await relay.drain_once()  # the start-up scan: nothing pending
        for n, event in enumerate(events):  # ten events each for four documents, staged before the relay runs
            document_id, staged = f"e{n % 4}", outbox.entry(event, topics.ALERTS, f"e{n % 4}")
            if n < 4:
                await collection.insert_one(outbox.with_outbox({"_id": document_id, "v": n}, staged))
            else:
                await collection.update_one({"_id": document_id}, outbox.merge_update({"$set": {"v": n}}, staged))
            relay.notify(collection, document_id, staged)
        reads_before = finds.count
        assert not await relay.drain_once()
        assert finds.count == reads_before
        received = await _published(settings, 40)
        for document in range(4):  # in order per document
            assert [i for i in received if i in {e.id for e in events[document::4]}] == [
                e.id for e in events[document::4]]
        assert sorted(received) == sorted(e.id for e in events)
        assert await relay.pending_count() == 0


async def test_relay_reads_the_document_when_a_write_did_not_hand_over_its_events(registry_topics: CommonSettings,
                                                                                  namespace):
    settings = registry_topics
    first, second = outbox.entry(_alert(1), topics.ALERTS, "e1"), outbox.entry(_alert(2), topics.ALERTS, "e1")
    async with _relay_world(settings, namespace) as (collection, relay):
        await relay.drain_once()
        await collection.insert_one(outbox.with_outbox({"_id": "e1"}, first))
        relay.notify(collection, "e1", first)
        await collection.update_one({"_id": "e1"}, outbox.staged(second))
        relay.notify(collection, "e1")  # the relay's staged copy is now out of date
        while await relay.drain_once():
            pass
        assert await _published(settings, 2) == [first["id"], second["id"]]
        assert await relay.pending_count() == 0


async def test_documents_published_together_are_dropped_in_one_command_that_checks_each(
        registry_topics: CommonSettings, namespace):
    settings = registry_topics
    a1 = outbox.entry(_alert(1), topics.ALERTS, "e1")
    b1, b2 = outbox.entry(_alert(2), topics.ALERTS, "e2"), outbox.entry(_alert(3), topics.ALERTS, "e2")
    async with _relay_world(settings, namespace) as (collection, relay):
        await relay.drain_once()  # the start-up scan: from now on the relay trusts what writers hand over
        for document_id, staged in (("e1", a1), ("e2", b1)):
            await collection.insert_one(outbox.with_outbox({"_id": document_id}, staged))
            relay.notify(collection, document_id, staged)
        await collection.update_one({"_id": "e2"}, outbox.staged(b2))  # a write that handed nothing over
        while await relay.drain_once():
            pass
        received = await _published(settings, 3)
        assert sorted(received) == sorted(e["id"] for e in (a1, b1, b2))
        assert received.index(b1["id"]) < received.index(b2["id"])
        assert relay.published == 3 and await relay.pending_count() == 0


async def test_events_a_crashed_process_left_go_before_new_ones(registry_topics: CommonSettings, namespace):
    settings = registry_topics
    left, new = outbox.entry(_alert(1), topics.ALERTS, "e1"), outbox.entry(_alert(2), topics.ALERTS, "e1")
    async with _relay_world(settings, namespace) as (collection, relay):
        await collection.insert_one(outbox.with_outbox({"_id": "e1"}, left))  # staged by a process that crashed
        await collection.update_one({"_id": "e1"}, outbox.staged(new))
        relay.notify(collection, "e1", new)  # the restarted process knows only its own event
        while await relay.drain_once():
            pass
        assert await _published(settings, 2) == [left["id"], new["id"]]
        assert await relay.pending_count() == 0


async def test_outbox_keeps_events_while_kafka_is_unreachable(make_settings, namespace):
    settings = make_settings(CommonSettings, kafka_bootstrap_servers="127.0.0.1:1")
    mongo = make_client(settings.mongodb_uri)
    collection = mongo[f"{namespace}db"]["entities"]
    await collection.insert_one(outbox.with_outbox({"_id": "e1"}, outbox.entry(_alert(1), topics.ALERTS, "a1")))
    relay = outbox.OutboxRelay([collection], Producer(settings, client_id="test"), locks=KeyedLocks())
    with pytest.raises(KafkaConnectionError):
        await relay.drain_once()
    assert await relay.pending_count() == 1
    await mongo.close()


async def test_consumer_dead_letters_poison_and_goes_on(registry_topics: CommonSettings, namespace):
    settings = registry_topics
    producer = Producer(settings, client_id="test")
    alerts = topics.ALERTS.full_name(settings.topic_prefix)
    good = _alert(1)
    for raw in (b"not json", b'{"type": "listing.created.v1"}', b'{"type": "no.such.v1"}', b'{"a": 1}'):
        await producer.send(alerts, raw, key="poison")
    await producer.send_event(alerts, good, key="a1")
    await producer.send_event(alerts, good, key="a1")  # delivered twice: deduped below
    mongo = make_client(settings.mongodb_uri)
    db = mongo[f"{namespace}db"]
    handled: list[str] = []

    async def handle(event, record):
        try:  # dedupe by event id: a unique _id is atomic even on FerretDB
            await db["processed"].insert_one({"_id": event.id})
        except DuplicateKeyError:
            return
        handled.append(event.id)

    dead_letter = topics.dead_letter("notification")
    consumer = EventConsumer(settings, group_id="test-consumer", topics=[topics.ALERTS], dead_letter=dead_letter,
                             handler=handle, producer=producer)
    task = asyncio.create_task(consumer.run())
    await wait_for(lambda: asyncio.sleep(0, result=consumer.stats.processed >= 2), what="both good records")
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert handled == [good.id]
    dead = await read_records(settings.kafka_bootstrap_servers, dead_letter.full_name(settings.topic_prefix), count=4)
    reasons = [dict(r.headers)[DLQ_REASON].decode() for r in dead]
    assert reasons[0].startswith("not JSON")
    assert "not expected on this topic" in reasons[1]
    assert "not expected on this topic" in reasons[2]
    assert "missing CloudEvents attribute 'type'" in reasons[3]
    assert dead[0].value == b"not json"
    await producer.stop()
    await mongo.close()


async def test_batch_consumer_hands_over_whole_fetches_retries_them_and_commits_after(
        registry_topics: CommonSettings, namespace):
    settings = registry_topics
    producer = Producer(settings, client_id="test")
    alerts = topics.ALERTS.full_name(settings.topic_prefix)
    await producer.send(alerts, b"not json", key="poison")
    sent = [_alert(n) for n in range(5)]
    for event in sent:
        await producer.send_event(alerts, event, key="a1")
    handed: list[list[str]] = []

    async def write(events: list[CloudEvent]) -> None:
        if not handed:
            handed.append([])  # the first attempt fails, as a store restarting would
            raise ConnectionError("store unavailable")
        handed.append([e.id for e in events])

    dead_letter = topics.dead_letter("notification")
    group = "test-batch-consumer"
    consumer = EventConsumer(settings, group_id=group, topics=[topics.ALERTS], dead_letter=dead_letter,
                             producer=producer, batch_handler=write, max_records=100)
    task = asyncio.create_task(consumer.run())
    await wait_for(lambda: asyncio.sleep(0, result=consumer.stats.processed >= 5), what="the five good records")
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)

    assert consumer.stats.retries >= 1
    assert [i for batch in handed[1:] for i in batch] == [e.id for e in sent]  # in order, none lost or repeated
    dead = await read_records(settings.kafka_bootstrap_servers, dead_letter.full_name(settings.topic_prefix), count=1)
    assert dead[0].value == b"not json"
    committed = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers,
                                 group_id=f"{settings.topic_prefix}{group}", enable_auto_commit=False,
                                 **settings.kafka_client_options())
    await committed.start()
    try:
        assert await committed.committed(TopicPartition(alerts, 0)) == 6
    finally:
        await committed.stop()
    await producer.stop()


def test_a_consumer_takes_one_kind_of_handler(registry_topics: CommonSettings):
    async def one(event, record): ...

    async def many(events): ...

    for handlers in ({}, {"handler": one, "batch_handler": many}):
        with pytest.raises(ValueError, match="either a handler or a batch_handler"):
            EventConsumer(registry_topics, group_id="g", topics=[topics.ALERTS], dead_letter=topics.ALERTS,
                          producer=Producer(registry_topics, client_id="test"), **handlers)


async def test_a_record_that_breaks_its_handler_is_dead_lettered_after_bounded_tries(
        registry_topics: CommonSettings, namespace):
    settings = registry_topics
    producer = Producer(settings, client_id="test")
    alerts = topics.ALERTS.full_name(settings.topic_prefix)
    poison, good = _alert(1), _alert(2)
    for event in (poison, good):
        await producer.send_event(alerts, event, key="a1")
    mongo = make_client(settings.mongodb_uri)
    processed = mongo[f"{namespace}db"]["processed"]
    tries: list[str] = []

    async def handle(event, record):
        tries.append(event.id)
        # the store's encoder refuses an integer beyond int64: an error of the record, not of the store
        await processed.insert_one({"_id": event.id, "n": 2**63 if event.id == poison.id else 1})

    dead_letter = topics.dead_letter("notification")
    consumer = EventConsumer(settings, group_id="test-bounded", topics=[topics.ALERTS], dead_letter=dead_letter,
                             handler=handle, producer=producer, max_attempts=3)
    task = asyncio.create_task(consumer.run())
    await wait_for(lambda: asyncio.sleep(0, result=consumer.stats.processed >= 1), what="the good record")
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert tries == [poison.id] * 3 + [good.id]
    assert [d["_id"] for d in await processed.find().to_list()] == [good.id]
    dead = await read_records(settings.kafka_bootstrap_servers, dead_letter.full_name(settings.topic_prefix), count=1)
    assert len(dead) == 1 and decode(dead[0].value).id == poison.id
    assert dict(dead[0].headers)[DLQ_REASON].decode().startswith("handler failed 3 times; last: OverflowError")
    assert consumer.stats.dead_lettered == 1
    await producer.stop()
    await mongo.close()


async def test_a_batch_that_keeps_failing_is_handed_over_one_by_one_and_only_the_bad_event_dead_lettered(
        registry_topics: CommonSettings):
    settings = registry_topics
    producer = Producer(settings, client_id="test")
    alerts = topics.ALERTS.full_name(settings.topic_prefix)
    sent = [_alert(n) for n in range(4)]
    for event in sent:
        await producer.send_event(alerts, event, key="a1")
    written: list[str] = []

    async def write(events: list[CloudEvent]) -> None:
        if any(e.id == sent[1].id for e in events):
            raise ValueError("cannot project this one")
        written.extend(e.id for e in events)

    dead_letter = topics.dead_letter("notification")
    consumer = EventConsumer(settings, group_id="test-batch-bounded", topics=[topics.ALERTS],
                             dead_letter=dead_letter, producer=producer, batch_handler=write, max_attempts=2)
    task = asyncio.create_task(consumer.run())
    await wait_for(lambda: asyncio.sleep(0, result=consumer.stats.processed >= 3), what="the three good events")
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert written == [sent[0].id, sent[2].id, sent[3].id]
    dead = await read_records(settings.kafka_bootstrap_servers, dead_letter.full_name(settings.topic_prefix), count=1)
    assert len(dead) == 1 and decode(dead[0].value).id == sent[1].id
    assert "ValueError: cannot project this one" in dict(dead[0].headers)[DLQ_REASON].decode()
    await producer.stop()


async def test_a_consumer_stuck_on_an_unreachable_store_is_unhealthy_until_it_goes_on(
        registry_topics: CommonSettings):
    settings = registry_topics
    producer = Producer(settings, client_id="test")
    await producer.send_event(topics.ALERTS.full_name(settings.topic_prefix), _alert(1), key="a1")
    store_up = asyncio.Event()

    async def handle(event, record):
        if not store_up.is_set():
            raise ServerSelectionTimeoutError("store restarting")  # retried without bound: not the record's fault

    consumer = EventConsumer(settings, group_id="test-stuck", topics=[topics.ALERTS],
                             dead_letter=topics.dead_letter("notification"), handler=handle, producer=producer,
                             max_attempts=2, stuck_after=0.5)
    assert not consumer.healthy()  # not running yet
    task = asyncio.create_task(consumer.run())
    await wait_for(lambda: asyncio.sleep(0, result=consumer.stats.retries >= 3), what="retries past the bound")
    await wait_for(lambda: asyncio.sleep(0, result=not consumer.healthy()), what="the consumer reported stuck")
    store_up.set()
    await wait_for(lambda: asyncio.sleep(0, result=consumer.healthy() and consumer.stats.processed == 1),
                   what="the record handled and the consumer healthy")
    assert consumer.stats.dead_lettered == 0
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert not consumer.healthy()
    await producer.stop()


async def test_readiness_reports_each_supervised_consumer_and_a_stuck_one_as_not_ready(
        registry_topics: CommonSettings, make_settings):
    settings = make_settings(ServiceSettings)
    resources = Resources(settings)
    store_up = asyncio.Event()

    async def handle(event, record):
        if event.data.value == 2 and not store_up.is_set():
            raise AutoReconnect("store restarting")

    consumer = EventConsumer(settings, group_id="test-ready", topics=[topics.ALERTS],
                             dead_letter=topics.dead_letter("notification"), handler=handle,
                             producer=resources.producer, stuck_after=0.5)
    check = resources.readiness()
    resources.run_consumer(consumer)
    checks = resources.readiness()
    assert set(checks) - set(check) == {"consumer test-ready"}
    ready = checks["consumer test-ready"]
    await wait_for(ready, what="the consumer running")
    await resources.producer.send_event(topics.ALERTS.full_name(settings.topic_prefix), _alert(2), key="a1")
    await wait_for(lambda: asyncio.sleep(0, result=consumer.stats.retries >= 1), what="the first retry")
    await wait_for(lambda: _not(ready), what="the stuck consumer reported not ready")
    store_up.set()
    await wait_for(ready, what="the consumer ready again")
    assert consumer.stats.processed == 1 and consumer.stats.dead_lettered == 0
    await resources.close()
    assert not await ready()


async def _not(check) -> bool:
    return not await check()
