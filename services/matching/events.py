"""Kafka adapter of the matching service: the faust app, its topics, tables and agents.

Input events are validated and forwarded, in order per key, onto one internal single-partition
work topic (by the consumer group ``matching-forward``, which the workers share). Every worker
reads the whole work topic with tables of its own, so each holds the whole candidate index and
decides the same outputs (see README: Scaling out). The work agent feeds the ``Processor`` in
small batches, sends the outputs of the ownership partitions this worker holds (``ownership.py``),
waits for Kafka's acknowledgement and only then records them in the ledger table. The outputs
reach MongoDB for the query API through a process of their own (``projection.py``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any

import faust
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from faust.types import ChannelT, EventT, Message
from prometheus_client import Counter, Histogram

from services.matching.domain.text import warm_up_text_analysis
from services.matching.ledger import Batch, Emission, parse_key, partition_of, resend
from services.matching.ownership import AllPartitions, Ownership, OwnershipGroup
from services.matching.processor import Processor, State
from services.matching.settings import Settings
from shared import topics
from shared.api.metrics import EVENTS_CONSUMED, EVENTS_DEAD_LETTERED
from shared.events import STRUCTURED_MODE_HEADERS, CloudEvent, InvalidEvent, decode, encode
from shared.faust_app import JsonTable, reliable_app, sasl_credentials
from shared.kafka import dead_letter_message, durability_configs
from shared.topics import TopicSpec

log = logging.getLogger(__name__)

INPUTS = topics.MATCHING_INPUTS
OUTPUTS = (topics.MATCHES, topics.CONSORTIA, topics.AGENDAS)
DEAD_LETTER = topics.dead_letter("matching")
# The most input events whose outputs are sent together (README: Flow).
BATCH_SIZE = 200
# Consortia are worked out at *settle marks*: records of the work topic without a value, carrying
# this header, which the forwarder appends after each fetch of input it forwarded (at most
# ``FORWARD_BATCH`` inputs). Every worker therefore settles at the same positions of the log and
# decides the same consortium versions; while a backlog is worked off, a consortium is sent once per
# mark rather than once per batch that touched one of its matches (README: Flow).
SETTLE_MARK = "hardtech-matching-settle"
# The consumer group that forwards the inputs to the work topic, shared by every worker; when it
# has committed nothing yet, it starts where the single worker's faust group (its app id) stood.
FORWARD_GROUP = "matching-forward"
FORWARD_BATCH = 1000
RETRY_SECONDS = 2.0

OUTPUTS_EMITTED = Counter("matching_outputs_emitted_total", "Match, consortium and agenda events emitted", ["type"])
PROCESSING_LATENCY = Histogram(
    "matching_processing_seconds", "From an input event reaching Kafka to its outputs acknowledged",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5, 10))


class MatchingStream:
    def __init__(self, settings: Settings):
        self.settings = settings
        prefix = settings.topic_prefix
        self.app = reliable_app(
            settings.app_id,
            bootstrap_servers=settings.kafka_bootstrap_servers,
            credentials=sasl_credentials(settings),
            store="rocksdb://",
            datadir=str(settings.state_dir),
            web_enabled=False,
            topic_partitions=1,
            topic_replication_factor=settings.kafka_replication_factor,  # its work topic and changelogs
            table_standby_replicas=settings.standby_replicas,
            producer_acks=-1,
            # A crashed worker's partitions move to a restarted or standby one within seconds.
            broker_session_timeout=10.0,
            broker_heartbeat_interval=2.0,
        )
        self.inputs = {spec.full_name(prefix): spec for spec in INPUTS}
        internal_configs = durability_configs(settings)
        self.work = self._raw_topic(topics.MATCHING_WORK.full_name(prefix), partitions=topics.MATCHING_WORK.partitions,
                                    internal=True, config=internal_configs)
        self.dead_letter = self._raw_topic(DEAD_LETTER.full_name(prefix))
        tables = {name: JsonTable(self.app, name, partitions=1, extra_topic_configs=internal_configs)
                  for name in ("items", "participants", "feedback", "sessions", "ledger", "priors")}
        self.state = State(**tables)
        self.processor = Processor(self.state, threshold=settings.threshold, top_k=settings.top_k)
        self.restored = False
        tables["ledger"].table.on_recover(self._restore)
        self.ownership: Ownership = (AllPartitions() if settings.workers == 1
                                     else OwnershipGroup(settings, on_gained=self._resend))
        self.forwarding = asyncio.Event()  # set once the forward group has assigned this worker its share
        self.app.agent(self.work, name="matching-work")(self._work)
        self.app.task(self._forward)
        if isinstance(self.ownership, OwnershipGroup):
            self.app.task(self.ownership.run)

    def _raw_topic(self, *names: str, **options: Any) -> faust.TopicT:
        """Topics carry CloudEvents as bytes, decoded and validated by ``shared.events``."""
        return self.app.topic(*names, key_serializer="raw", value_serializer="raw", **options)

    def ready(self) -> bool:
        return (self.restored and bool(self.app.consumer.assignment()) and self.forwarding.is_set()
                and self.ownership.joined())

    # -- agents and tasks -----------------------------------------------------------------

    async def _forward(self) -> None:
        """Validate input and forward it to the work topic, keeping the record's timestamp; the
        workers share this consumer group, so each input is forwarded once (at least once: a
        worker killed between forwarding and committing forwards again what the next one sends)."""
        while True:
            try:
                await self._forwarding()
            except KafkaError as exc:
                log.warning("forwarding input failed (%s); starting again", exc)
                await asyncio.sleep(RETRY_SECONDS)

    async def _forwarding(self) -> None:
        settings = self.settings
        consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap_servers, group_id=f"{settings.topic_prefix}{FORWARD_GROUP}",
            enable_auto_commit=False, auto_offset_reset="earliest", isolation_level="read_committed",
            session_timeout_ms=10_000, heartbeat_interval_ms=2_000, **settings.kafka_client_options())
        await consumer.start()
        try:
            consumer.subscribe(list(self.inputs), listener=_FromSingleWorker(consumer, settings, self.forwarding))
            producer, work = self.app.producer, self.work.get_topic_name()
            while True:
                fetched = await consumer.getmany(timeout_ms=1000, max_records=FORWARD_BATCH)
                pending = []
                for records in fetched.values():
                    for record in records:
                        if await self._valid(record, self.inputs[record.topic]) is not None:
                            pending.append(await producer.send(work, record.key, record.value, partition=None,
                                                               timestamp=record.timestamp / 1000,
                                                               headers=STRUCTURED_MODE_HEADERS))
                if pending:
                    pending.append(await producer.send(work, None, b"", partition=None, timestamp=None,
                                                       headers=[(SETTLE_MARK, b"")]))
                    await asyncio.gather(*pending)
                if fetched:
                    await consumer.commit({tp: records[-1].offset + 1 for tp, records in fetched.items()})
        finally:
            await consumer.stop()

    async def _work(self, stream: faust.StreamT[Any]) -> None:
        """Handle the work topic one event at a time, each while faust holds it as the current
        event (a table write goes to that event's partition); send the outputs of the events
        handled so far in one go when no further event is waiting or ``BATCH_SIZE`` were handled,
        record them in the ledger once Kafka acknowledged them, and only then acknowledge the
        events (their offsets may be committed)."""
        manual = stream.noack()  # type: ignore[attr-defined]  # faust's StreamT omits noack; Stream has it
        handled: list[EventT[Any]] = []
        batch = self.processor.new_batch()
        async for event in manual.events():
            batch.position = event.message.offset
            if is_settle_mark(event.message):
                self.processor.finish(batch)
            else:
                decoded = decode(event.value)
                self.processor.handle(decoded, batch, event.message.offset)
                EVENTS_CONSUMED.labels("matching", decoded.type).inc()
            handled.append(event)
            if len(handled) < BATCH_SIZE and _waiting(manual):
                continue
            async with self.ownership.lock:  # ownership moves only between batches
                self.processor.commit(await self._publish_reliably(batch))  # still under the current event
                await self.ownership.sent_upto(event.message.offset + 1)
            now = time.time()
            for done in handled:
                PROCESSING_LATENCY.observe(max(0.0, now - done.message.timestamp))
                await manual.ack(done)
            handled, batch = [], self.processor.new_batch()

    # -- helpers --------------------------------------------------------------------------

    async def _restore(self) -> None:
        """Rebuild the engine once the tables are recovered, and emit what a crash left unsent."""
        started = time.monotonic()
        warm_up_text_analysis()  # loads jieba's dictionary (seconds) before the worker reports ready
        async with self.ownership.lock:
            # consortia wait for the next settle mark, where every worker works them out
            batch = await self._publish_reliably(self.processor.restore(settle_consortia=False))
            self.processor.hold(batch)
        log.info("matching engine restored from %d open items in %.1fs (%d outputs re-sent)",
                 len(self.state.items), time.monotonic() - started, len(batch.emissions))
        self.restored = True

    async def _publish_reliably(self, batch: Batch) -> Batch:
        """Publish a batch, again while Kafka refuses (what was sent already is sent again with
        the same ids: the batch was decided at its positions of the log, as by every worker)."""
        backoff = 0.5
        while True:
            try:
                await self._publish(batch.emissions)
                return batch
            except KafkaError as exc:
                log.warning("publishing matching outputs failed (%s); retrying", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10)

    async def _resend(self, gained: dict[int, int]) -> None:
        """Send again, with the same ids and content, what the ledger recorded for newly gained
        partitions at or after their watermarks (the previous owner may not have sent it)."""
        while not self.restored:  # the ledger is complete once the tables are recovered
            await asyncio.sleep(0.2)
        async with self.ownership.lock:
            again = [emission for text, entry in self.processor.entries()
                     if entry.get("position", 0) >= gained.get(partition_of_text(text), 2**63)
                     and (emission := resend(text, entry)) is not None]
            backoff = 0.5
            while True:
                try:
                    await self._publish(again)
                    break
                except KafkaError as exc:
                    log.warning("sending a gained partition's outputs again failed (%s); retrying", exc)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 10)
        log.info("gained ownership partitions %s: %d outputs sent again", sorted(gained), len(again))

    async def _publish(self, emissions: Iterable[Emission]) -> None:
        # Straight to the producer: the values are bytes already, and faust's channel machinery
        # per message cost about as much as aiokafka's send itself (py-spy: 5.4% and 5.3%).
        # Only the outputs of the ownership partitions this worker holds are sent.
        producer, prefix, ownership = self.app.producer, self.settings.topic_prefix, self.ownership
        pending = []
        for emission in emissions:
            if not ownership.sends(emission):
                continue
            pending.append(await producer.send(emission.topic.full_name(prefix), emission.key.encode(),
                                               encode(emission.event), partition=None, timestamp=None,
                                               headers=STRUCTURED_MODE_HEADERS))
            OUTPUTS_EMITTED.labels(emission.event.type).inc()
        if pending:
            await asyncio.gather(*pending)

    async def _valid(self, message: Any, spec: TopicSpec) -> CloudEvent[Any] | None:
        """The decoded event, or None after dead-lettering it with the reason."""
        try:
            return decode(message.value, allowed_types=frozenset(spec.event_types) or None)
        except InvalidEvent as exc:
            log.warning("dead-lettering %s[%d]@%d: %s", message.topic, message.partition, message.offset, exc.reason)
            key, value, headers = dead_letter_message(message.topic, message.partition, message.offset, message.key,
                                                      message.value, reason=exc.reason,
                                                      consumer=self.settings.service_name)
            await self.dead_letter.send(key=key.encode() if key else None, value=value, headers=headers)
            EVENTS_DEAD_LETTERED.labels("matching").inc()
            return None


class _FromSingleWorker(ConsumerRebalanceListener):  # type: ignore[misc]
    """Input partitions the forward group never committed start where worker 1's faust group
    (which forwarded before this group existed) committed, so an upgrade forwards nothing twice."""

    def __init__(self, consumer: AIOKafkaConsumer, settings: Settings, joined: asyncio.Event):
        self._consumer = consumer
        self._settings = settings
        self._joined = joined

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        return None

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        try:
            await self._resume(assigned)
        finally:
            self._joined.set()

    async def _resume(self, assigned: set[TopicPartition]) -> None:
        fresh = [tp for tp in assigned if await self._consumer.committed(tp) is None]
        if not fresh:
            return
        admin = AIOKafkaAdminClient(bootstrap_servers=self._settings.kafka_bootstrap_servers,
                                    **self._settings.kafka_client_options())
        try:
            await admin.start()
            before = await admin.list_consumer_group_offsets(f"{self._settings.topic_prefix}matching", partitions=fresh)
        except KafkaError as exc:
            log.warning("reading the single worker's input offsets failed (%s); forwarding from the start", exc)
            return
        finally:
            await admin.close()
        for tp in fresh:
            if (committed := before.get(tp)) is not None and committed.offset >= 0:
                self._consumer.seek(tp, committed.offset)


def is_settle_mark(message: Message) -> bool:
    """Whether a work-topic record is a settle mark rather than an input event."""
    headers = message.headers or ()
    return SETTLE_MARK in (headers.keys() if isinstance(headers, Mapping) else {key for key, _ in headers})


def partition_of_text(text: str) -> int:
    return partition_of(parse_key(text))


def _waiting(stream: faust.StreamT[Any]) -> bool:
    """Whether the stream's channel holds a further event already (faust delivered it)."""
    channel = stream.channel
    return isinstance(channel, ChannelT) and not channel.empty()
