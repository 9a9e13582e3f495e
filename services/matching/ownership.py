"""Which outputs this worker sends: the Kafka adapter of emission ownership (README: Scaling out).

Every worker reads the whole work topic and decides the same outputs; each output entity belongs
to one of ``OWNERSHIP_PARTITIONS`` partitions (``ledger.partition_of``), and a worker sends only
the outputs of the partitions it holds. One worker holds them all (``AllPartitions``). Several
share them through the consumer group ``<prefix>matching-owners`` on the empty topic
``<prefix>matching-owners`` (``OwnershipGroup``): a worker joining, leaving or killed moves
partitions within the session timeout. Each partition's committed offset is its *watermark*: the
work-topic position up to which its owner has sent (and Kafka acknowledged) every output. A worker
gaining a partition sends again what the ledger recorded at or after the watermark, since the
previous owner may not have sent it, and skips what was sent before it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any
from typing import Protocol

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError

from services.matching.ledger import OWNERSHIP_PARTITIONS, Emission, partition_of
from services.matching.settings import Settings
from shared import topics

log = logging.getLogger(__name__)

GROUP = "matching-owners"
SESSION_TIMEOUT_MS = 10_000  # as the faust worker's: a killed worker's partitions move within it
HEARTBEAT_INTERVAL_MS = 2_000
RETRY_SECONDS = 2.0


class Ownership(Protocol):
    """What the stream adapter asks of ownership."""

    lock: asyncio.Lock  # held while a batch is sent and recorded; partitions are given up only between

    def joined(self) -> bool: ...

    def owned(self) -> list[int]: ...

    def sends(self, emission: Emission) -> bool: ...

    async def sent_upto(self, position: int) -> None: ...


class AllPartitions:
    """A single worker: it owns every partition and sends every output."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()

    def joined(self) -> bool:
        return True

    def owned(self) -> list[int]:
        return list(range(OWNERSHIP_PARTITIONS))

    def sends(self, emission: Emission) -> bool:
        return True

    async def sent_upto(self, position: int) -> None:
        return None


Gained = Callable[[dict[int, int]], Coroutine[Any, Any, None]]


class OwnershipGroup:
    """This worker's share of the partitions, through the consumer group ``matching-owners``.

    ``on_gained`` is called (as a task of its own) with each gained partition's watermark, so the
    worker can send again what the previous owner may have left unsent."""

    def __init__(self, settings: Settings, on_gained: Gained):
        self._settings = settings
        self._on_gained = on_gained
        self._topic = topics.MATCHING_OWNERS.full_name(settings.topic_prefix)
        self._consumer: AIOKafkaConsumer | None = None
        self._watermarks: dict[int, int] = {}  # owned partition -> position its outputs are sent from
        self._committed: dict[int, int] = {}
        self._joined = False
        self._tasks: set[asyncio.Task[None]] = set()
        self.lock = asyncio.Lock()

    def joined(self) -> bool:
        return self._joined

    def owned(self) -> list[int]:
        return sorted(self._watermarks)

    def sends(self, emission: Emission) -> bool:
        watermark = self._watermarks.get(partition_of(emission.ledger_key))
        return watermark is not None and emission.position >= watermark

    async def sent_upto(self, position: int) -> None:
        """Every output of the owned partitions caused before work-topic ``position`` is sent:
        commit that as their watermark (a commit refused after a rebalance only makes the next
        owner send more again)."""
        consumer = self._consumer
        due = {p: position for p in self._watermarks if position > self._committed.get(p, 0)}
        if consumer is None or not due:
            return
        try:
            await consumer.commit({TopicPartition(self._topic, p): offset for p, offset in due.items()})
            self._committed.update(due)
        except KafkaError as exc:
            log.warning("committing the ownership watermarks failed: %s", exc)

    async def run(self) -> None:
        """Hold a share of the partitions until cancelled; join again after a Kafka error."""
        while True:
            try:
                await self._member()
            except KafkaError as exc:
                log.warning("the ownership group failed (%s); joining again", exc)
                self._give_up(self.owned())
                await asyncio.sleep(RETRY_SECONDS)

    async def _member(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._settings.kafka_bootstrap_servers,
            group_id=f"{self._settings.topic_prefix}{GROUP}", enable_auto_commit=False,
            session_timeout_ms=SESSION_TIMEOUT_MS, heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS,
            **self._settings.kafka_client_options())
        await consumer.start()
        self._consumer = consumer
        try:
            consumer.subscribe([self._topic], listener=_Listener(self, consumer))
            while True:  # the topic holds no records; polling keeps the membership alive
                await consumer.getmany(timeout_ms=1000)
        finally:
            self._consumer = None
            self._joined = False
            await consumer.stop()

    async def _assigned(self, consumer: AIOKafkaConsumer, assigned: set[TopicPartition]) -> None:
        gained: dict[int, int] = {}
        for tp in assigned:
            if tp.partition not in self._watermarks:
                gained[tp.partition] = await consumer.committed(tp) or 0
        self._committed.update(gained)
        self._watermarks.update(gained)
        self._joined = True
        log.info("ownership partitions %s (gained %s)", self.owned(), sorted(gained))
        if gained:
            task = asyncio.create_task(self._on_gained(gained))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _revoked(self, revoked: set[TopicPartition]) -> None:
        async with self.lock:  # a batch being sent finishes first, and its watermark is committed
            self._give_up([tp.partition for tp in revoked])

    def _give_up(self, partitions: list[int]) -> None:
        for partition in partitions:
            self._watermarks.pop(partition, None)
            self._committed.pop(partition, None)


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, group: OwnershipGroup, consumer: AIOKafkaConsumer):
        self._group = group
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._group._revoked(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        await self._group._assigned(self._consumer, assigned)
