"""Kafka adapter of the matching service: the faust app, its topics, tables and agents.

Input events are validated and forwarded, in order per key, onto one internal single-partition
work topic, so exactly one worker holds the whole candidate index (see README: scaling). The
work agent feeds the ``Processor`` in small batches, sends the outputs, waits for Kafka's
acknowledgement and only then records them in the ledger table. The outputs reach MongoDB for the
query API through a process of their own (``projection.py``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from typing import Any

import faust
from aiokafka.errors import KafkaError
from faust.types import ChannelT, EventT, Message
from prometheus_client import Counter, Histogram

from services.matching.domain.text import warm_up_text_analysis
from services.matching.ledger import Batch, Emission
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
# While the work topic has a backlog, consortia wait (at most this long) until it is worked off:
# each is then sent once rather than once per batch that touched one of its matches.
CONSORTIA_MAX_DELAY_SECONDS = 20.0

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
            datadir=str(settings.datadir),
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
        self._consortia_settled_at = time.monotonic()
        tables["ledger"].table.on_recover(self._restore)
        self.app.agent(self._raw_topic(*self.inputs), name="matching-forward")(self._forward)
        self.app.agent(self.work, name="matching-work")(self._work)

    def _raw_topic(self, *names: str, **options: Any) -> faust.TopicT:
        """Topics carry CloudEvents as bytes, decoded and validated by ``shared.events``."""
        return self.app.topic(*names, key_serializer="raw", value_serializer="raw", **options)

    def ready(self) -> bool:
        return self.restored and bool(self.app.consumer.assignment())

    # -- agents ---------------------------------------------------------------------------

    async def _forward(self, stream: faust.StreamT[Any]) -> None:
        """Validate input and forward it to the work topic, keeping the record's timestamp."""
        async for event in stream.events():
            message = event.message
            if await self._valid(event, self.inputs[message.topic]) is not None:
                await self.work.send(key=message.key, value=message.value, timestamp=message.timestamp,
                                     headers=STRUCTURED_MODE_HEADERS)

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
            decoded = decode(event.value)
            self.processor.handle(decoded, batch, event.message.offset)
            EVENTS_CONSUMED.labels("matching", decoded.type).inc()
            handled.append(event)
            if len(handled) < BATCH_SIZE and _waiting(manual):
                continue
            self.processor.finish(batch, settle_consortia=self._settle_consortia(event.message))
            self.processor.commit(await self._publish_reliably(batch))  # still under the current event
            now = time.time()
            for done in handled:
                PROCESSING_LATENCY.observe(max(0.0, now - done.message.timestamp))
                await manual.ack(done)
            handled, batch = [], self.processor.new_batch()

    # -- helpers --------------------------------------------------------------------------

    def _settle_consortia(self, last: Message) -> bool:
        """Work consortia out once the work topic's backlog is worked off (``last`` is the last
        record it holds), or at the latest every ``CONSORTIA_MAX_DELAY_SECONDS`` while it is not."""
        now = time.monotonic()
        highwater = self.app.consumer.highwater(last.tp)
        caught_up = highwater is None or last.offset + 1 >= highwater
        if caught_up or now - self._consortia_settled_at >= CONSORTIA_MAX_DELAY_SECONDS:
            self._consortia_settled_at = now
            return True
        return False

    async def _restore(self) -> None:
        """Rebuild the engine once the tables are recovered, and emit what a crash left unsent."""
        started = time.monotonic()
        warm_up_text_analysis()  # loads jieba's dictionary (seconds) before the worker reports ready
        batch = await self._publish_reliably(self.processor.restore())
        self.processor.hold(batch)
        log.info("matching engine restored from %d open items in %.1fs (%d outputs re-sent)",
                 len(self.state.items), time.monotonic() - started, len(batch.emissions))
        self.restored = True

    async def _publish_reliably(self, batch: Batch) -> Batch:
        """Publish a batch, reconciling again while Kafka refuses; returns the batch sent."""
        backoff = 0.5
        while True:
            try:
                await self._publish(batch.emissions)
                return batch
            except KafkaError as exc:
                log.warning("publishing matching outputs failed (%s); retrying", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10)
                batch = self.processor.reconcile()

    async def _publish(self, emissions: Iterable[Emission]) -> None:
        # Straight to the producer: the values are bytes already, and faust's channel machinery
        # per message cost about as much as aiokafka's send itself (py-spy: 5.4% and 5.3%).
        producer, prefix = self.app.producer, self.settings.topic_prefix
        pending = []
        for emission in emissions:
            pending.append(await producer.send(emission.topic.full_name(prefix), emission.key.encode(),
                                               encode(emission.event), partition=None, timestamp=None,
                                               headers=STRUCTURED_MODE_HEADERS))
            OUTPUTS_EMITTED.labels(emission.event.type).inc()
        if pending:
            await asyncio.gather(*pending)

    async def _valid(self, event: EventT[Any], spec: TopicSpec) -> CloudEvent[Any] | None:
        """The decoded event, or None after dead-lettering it with the reason."""
        message = event.message
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


def _waiting(stream: faust.StreamT[Any]) -> bool:
    """Whether the stream's channel holds a further event already (faust delivered it)."""
    channel = stream.channel
    return isinstance(channel, ChannelT) and not channel.empty()
