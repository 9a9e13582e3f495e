"""Kafka helpers: topic creation from the registry, a resilient idempotent producer, and a
consumer loop that sends undecodable or invalid messages, and messages its handler keeps
failing on, to a dead-letter topic and goes on.

Delivery is at least once: offsets are committed only after the handler has finished with a
record, so a crash replays it and handlers dedupe by event id.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code
from pymongo.errors import ConnectionFailure

from shared.events import STRUCTURED_MODE_HEADERS, CloudEvent, InvalidEvent, decode, encode, keyed
from shared.settings import CommonSettings
from shared.topics import TopicSpec

log = logging.getLogger(__name__)

DLQ_REASON = "dlq.reason"
DLQ_MAX_VALUE_BYTES = 512 * 1024  # below the broker's default message.max.bytes

# A handler error is tried this many times in all (backoff 0.2, 0.4, 0.8, 1.6 s between), then the
# record is dead-lettered: a record that breaks its handler must not stall its partition.
MAX_ATTEMPTS = 5
RETRY_FIRST_SECONDS = 0.2
RETRY_MAX_SECONDS = 5.0
# Errors of the infrastructure, not of the record: retried without bound (nothing is dead-lettered
# because the store or the broker restarts); the partition then shows as stuck after a while.
INFRASTRUCTURE_ERRORS: tuple[type[BaseException], ...] = (ConnectionFailure, KafkaError, OSError)
STUCK_AFTER_SECONDS = 60.0


def durability_configs(settings: CommonSettings) -> dict[str, str]:
    """Topic configs every topic gets, the services' own and faust's changelogs alike: without
    ``min.insync.replicas`` an ``acks=all`` write is acknowledged by the leader alone when the
    other replicas fell behind."""
    return {"min.insync.replicas": str(settings.kafka_min_insync_replicas)}


async def ensure_topics(settings: CommonSettings, specs: Iterable[TopicSpec], *, timeout: float = 30.0) -> list[str]:
    """Create the topics that do not exist yet, each with the configured replication factor and
    ``min.insync.replicas``; return the names created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers,
                                request_timeout_ms=int(timeout * 1000), **settings.kafka_client_options())
    await asyncio.wait_for(admin.start(), timeout)
    try:
        existing = set(await admin.list_topics())
        wanted = [s for s in specs if s.full_name(settings.topic_prefix) not in existing]
        created = []
        for spec in wanted:
            name = spec.full_name(settings.topic_prefix)
            response = await admin.create_topics([NewTopic(
                name, spec.partitions, settings.kafka_replication_factor,
                topic_configs={**spec.config, **durability_configs(settings)})])
            # The broker answers per topic; aiokafka hands the answer over without raising.
            for _, code, *message in response.topic_errors:
                error = for_code(code)
                if error is TopicAlreadyExistsError:
                    continue
                if code:
                    raise error(f"creating topic {name}: {(message or [None])[0] or error.description}")
                created.append(name)
        return created
    finally:
        await admin.close()


class Producer:
    """An idempotent ``acks=all`` producer that (re)starts itself, so a service can come up and
    keep taking writes while Kafka is down; callers see a ``KafkaError`` and retry later."""

    def __init__(self, settings: CommonSettings, *, client_id: str):
        self._settings = settings
        self._client_id = client_id
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def _ensure(self) -> AIOKafkaProducer:
        async with self._lock:
            if self._producer is None:
                producer = AIOKafkaProducer(
                    bootstrap_servers=self._settings.kafka_bootstrap_servers,
                    client_id=self._client_id,
                    enable_idempotence=True,
                    acks="all",
                    linger_ms=5,
                    request_timeout_ms=10_000,
                    max_request_size=2 * 1024 * 1024,
                    **self._settings.kafka_client_options(),
                )
                try:
                    await producer.start()
                except BaseException:
                    await producer.stop()
                    raise
                self._producer = producer
            return self._producer

    async def send(self, topic: str, value: bytes, *, key: str | None = None,
                   headers: list[tuple[str, bytes]] | None = None) -> None:
        producer = await self._ensure()
        try:
            await producer.send_and_wait(topic, value, key=key.encode() if key else None, headers=headers)
        except KafkaError:
            # A broker restart can leave the client in a state it does not leave by itself.
            await self.reset()
            raise

    async def send_event(self, topic: str, event: CloudEvent[Any], *, key: str) -> None:
        await self.send_encoded_event(topic, encode(keyed(event, key)), key=key)

    async def send_encoded_event(self, topic: str, value: bytes, *, key: str) -> None:
        """Send an encoded event as a structured-mode CloudEvents record (its content-type header)."""
        await self.send(topic, value, key=key, headers=STRUCTURED_MODE_HEADERS)

    async def reachable(self, timeout: float = 2.0) -> bool:
        try:
            producer = await asyncio.wait_for(self._ensure(), timeout)
            await asyncio.wait_for(producer.client.force_metadata_update(), timeout)
            return bool(producer.client.cluster.brokers())
        except (KafkaError, OSError, asyncio.TimeoutError):
            return False

    async def reset(self) -> None:
        async with self._lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            try:
                await asyncio.wait_for(producer.stop(), 5)
            except (KafkaError, OSError, asyncio.TimeoutError):
                pass

    stop = reset


def dead_letter_message(topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None, *,
                        reason: str, consumer: str) -> tuple[str | None, bytes, list[tuple[str, bytes]]]:
    """Key, value and reason headers of the dead-letter record for a record that failed."""
    headers = [
        (DLQ_REASON, reason.encode()[:1000]),
        ("dlq.consumer", consumer.encode()),
        ("dlq.topic", topic.encode()),
        ("dlq.partition", str(partition).encode()),
        ("dlq.offset", str(offset).encode()),
    ]
    value = value if value is not None else b""
    if len(value) > DLQ_MAX_VALUE_BYTES:
        headers.append(("dlq.truncated_from", str(len(value)).encode()))
        value = value[:DLQ_MAX_VALUE_BYTES]
    return (key.decode(errors="replace") if key else None), value, headers


class PermanentError(Exception):
    """Raised by a handler for a record that can never be processed: it is dead-lettered."""


Handler = Callable[[CloudEvent[Any], ConsumerRecord], Awaitable[None]]
BatchHandler = Callable[[list[CloudEvent[Any]]], Awaitable[None]]


@dataclass
class ConsumerStats:
    processed: int = 0
    dead_lettered: int = 0
    retries: int = 0


class EventConsumer:
    """Consume CloudEvents from registry topics with a handler; dead-letter what is invalid.

    Records of one partition are handled in order. A ``PermanentError`` dead-letters the record
    at once. Any other handler error is tried again with exponential backoff and jitter, up to
    ``max_attempts`` tries in all, then the record is dead-lettered with the last error as the
    reason and the consumer goes on. An error of the infrastructure (``INFRASTRUCTURE_ERRORS``:
    MongoDB or Kafka unreachable) says nothing about the record, and is retried without bound;
    nothing after the record in its partition is committed meanwhile, so nothing is lost.
    ``healthy()`` is False while the consumer is not running, or one record has been failing
    for longer than ``stuck_after`` seconds (``/readyz`` reports it).

    With a ``batch_handler`` instead, the valid events of each fetch (up to ``max_records``, in
    order per partition) are handed over in one call, and the fetch is committed after it: for
    writers that pay per operation and fold many events into one write. The batch handler must
    be idempotent: a batch that keeps failing is handed over again one event at a time, in
    order, so that only the event that fails is dead-lettered.
    """

    def __init__(self, settings: CommonSettings, *, group_id: str, topics: Iterable[TopicSpec],
                 dead_letter: TopicSpec, producer: Producer, handler: Handler | None = None,
                 batch_handler: BatchHandler | None = None, max_records: int = 200,
                 max_attempts: int = MAX_ATTEMPTS, stuck_after: float = STUCK_AFTER_SECONDS):
        if (handler is None) == (batch_handler is None):
            raise ValueError("EventConsumer takes either a handler or a batch_handler")
        self._settings = settings
        self._group_id = group_id
        self._topics = {s.full_name(settings.topic_prefix): s for s in topics}
        self._dead_letter = dead_letter.full_name(settings.topic_prefix)
        self._handler = handler
        self._batch_handler = batch_handler
        self._producer = producer
        self._max_records = max_records
        self._max_attempts = max_attempts
        self._stuck_after = stuck_after
        self._failing_since: float | None = None  # when the record being handled first failed
        self._consumer: AIOKafkaConsumer | None = None
        self.stats = ConsumerStats()
        self.running = False

    @property
    def name(self) -> str:
        return self._group_id

    def healthy(self) -> bool:
        """Running, and no record failing for longer than ``stuck_after`` seconds."""
        failing_since = self._failing_since
        stuck = failing_since is not None and time.monotonic() - failing_since > self._stuck_after
        return self.running and not stuck

    async def start(self) -> None:
        consumer = AIOKafkaConsumer(
            *self._topics,
            bootstrap_servers=self._settings.kafka_bootstrap_servers,
            group_id=f"{self._settings.topic_prefix}{self._group_id}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            fetch_max_bytes=8 * 1024 * 1024,
            **self._settings.kafka_client_options(),
        )
        try:
            await consumer.start()
        except BaseException:  # a failed or cancelled start leaves no client open, and no half-started consumer
            await consumer.stop()
            raise
        self._consumer = consumer
        self.running = True

    async def stop(self) -> None:
        self.running = False
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None

    async def run(self) -> None:
        """Start (retrying while Kafka is unreachable) and consume until cancelled."""
        backoff = 0.5
        while self._consumer is None:
            try:
                await self.start()
            except (KafkaError, OSError) as exc:
                log.warning("consumer %s cannot start yet: %s", self._group_id, exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10)
        try:
            while True:
                batches = await self._consumer.getmany(timeout_ms=500, max_records=self._max_records)
                if self._batch_handler is not None and batches:
                    await self._handle_fetch(batches)
                    continue
                for tp, records in batches.items():
                    await self._handle_partition(tp, records)
        finally:
            await self.stop()

    async def _handle_partition(self, tp: TopicPartition, records: list[ConsumerRecord]) -> None:
        assert self._consumer is not None
        for record in records:
            await self._handle_with_retry(record)
            await self._consumer.commit({tp: record.offset + 1})

    async def _handle_fetch(self, batches: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        assert self._consumer is not None and self._batch_handler is not None
        decoded: list[tuple[ConsumerRecord, CloudEvent[Any]]] = []
        for records in batches.values():
            for record in records:
                try:
                    decoded.append((record, self._decode(record)))
                except InvalidEvent as exc:
                    await self._dead_letter_record(record, exc.reason)
        if decoded:
            handler = self._batch_handler
            events = [event for _, event in decoded]
            first = decoded[0][0]
            what = f"a batch of {len(events)} from {first.topic}[{first.partition}]@{first.offset}"
            if await self._retrying(lambda: handler(events), what) is None:
                self.stats.processed += len(events)
            else:  # find the events that fail: one at a time, in order
                for record, event in decoded:
                    await self._handle_one(record, functools.partial(handler, [event]))
        await self._consumer.commit({tp: records[-1].offset + 1 for tp, records in batches.items()})

    def _decode(self, record: ConsumerRecord) -> CloudEvent[Any]:
        spec = self._topics[record.topic]
        return decode(record.value, allowed_types=frozenset(spec.event_types) or None)

    async def _handle_with_retry(self, record: ConsumerRecord) -> None:
        assert self._handler is not None
        handler = self._handler
        try:
            event = self._decode(record)
        except InvalidEvent as exc:
            await self._dead_letter_record(record, exc.reason)
            return
        await self._handle_one(record, lambda: handler(event, record))

    async def _handle_one(self, record: ConsumerRecord, attempt: Callable[[], Awaitable[None]]) -> None:
        reason = await self._retrying(attempt, f"{record.topic}[{record.partition}]@{record.offset}")
        if reason is None:
            self.stats.processed += 1
        else:
            await self._dead_letter_record(record, reason)

    async def _retrying(self, attempt: Callable[[], Awaitable[None]], what: str) -> str | None:
        """Await ``attempt`` until it succeeds (None), or return why it is given up: a
        ``PermanentError`` at once, another error after ``max_attempts`` tries. Errors of the
        infrastructure are retried without bound."""
        backoff = RETRY_FIRST_SECONDS
        failures = 0
        try:
            while True:
                try:
                    await attempt()
                    return None
                except PermanentError as exc:
                    return str(exc)
                except Exception as exc:
                    if self._failing_since is None:
                        self._failing_since = time.monotonic()
                    infrastructure = isinstance(exc, INFRASTRUCTURE_ERRORS)
                    failures += not infrastructure
                    if failures >= self._max_attempts:
                        return f"handler failed {failures} times; last: {type(exc).__name__}: {exc}"
                    self.stats.retries += 1
                    log.warning("retrying %s after %s: %s", what, type(exc).__name__, exc)
                    await asyncio.sleep(backoff * random.uniform(0.5, 1.0))  # jitter: replicas do not retry in step
                    backoff = min(backoff * 2, RETRY_MAX_SECONDS)
        finally:
            self._failing_since = None

    async def _dead_letter_record(self, record: ConsumerRecord, reason: str) -> None:
        log.warning("dead-lettering %s[%d]@%d: %s", record.topic, record.partition, record.offset, reason)
        key, value, headers = dead_letter_message(record.topic, record.partition, record.offset, record.key,
                                                  record.value, reason=reason, consumer=self._group_id)
        backoff = 0.2
        while True:
            try:
                await self._producer.send(self._dead_letter, value, key=key, headers=headers)
                self.stats.dead_lettered += 1
                return
            except (KafkaError, OSError) as exc:
                log.warning("dead-letter topic unreachable (%s); retrying", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5)
