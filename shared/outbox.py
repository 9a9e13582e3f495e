"""The transactional outbox without multi-document transactions.

A write and the events it causes are stored atomically in the same MongoDB document: the
entity's update carries ``$push`` onto its ``_outbox`` array (``staged``). The relay publishes
each document's pending events in array order, keyed as staged, and pops each one only after
Kafka acknowledged it (``acks=all``). A crash between the two re-publishes: delivery is at
least once and consumers dedupe by event id. While Kafka is down the relay backs off and the
API keeps writing. Only the head of the array is ever removed, guarded by its event id, so
concurrent writers appending at the tail are never disturbed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Any

from aiokafka.errors import KafkaError
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import PyMongoError

from shared.events import CloudEvent, encode
from shared.kafka import Producer
from shared.locks import KeyedLocks
from shared.topics import TopicSpec

log = logging.getLogger(__name__)

OUTBOX = "_outbox"
PENDING = "_outbox_pending"


def entry(event: CloudEvent, topic: TopicSpec, key: str) -> dict[str, Any]:
    """One pending event as stored in a document's outbox."""
    return {"id": event.id, "topic": topic.name, "key": key, "value": encode(event).decode()}


def staged(*entries: dict[str, Any]) -> dict[str, Any]:
    """The update operators that append events to a document's outbox; merge with ``$set`` etc."""
    return {"$push": {OUTBOX: {"$each": list(entries)}}, "$set": {PENDING: True}}


def with_outbox(document: dict[str, Any], *entries: dict[str, Any]) -> dict[str, Any]:
    """A new document that carries its first events, for ``insert_one``."""
    return {**document, OUTBOX: list(entries), PENDING: True}


def merge_update(update: dict[str, Any], *entries: dict[str, Any]) -> dict[str, Any]:
    """Merge the outbox operators into an update that may already use ``$set``."""
    merged = {op: dict(fields) for op, fields in update.items()}
    for op, fields in staged(*entries).items():
        merged.setdefault(op, {}).update(fields)
    return merged


def without_outbox(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k not in (OUTBOX, PENDING)}


class OutboxRelay:
    """Publishes pending events from the outboxes of the given collections."""

    def __init__(self, collections: Sequence[AsyncCollection], producer: Producer, *, topic_prefix: str = "",
                 poll_seconds: float = 1.0, batch: int = 200, locks: KeyedLocks | None = None):
        self._collections = list(collections)
        # The writers' per-document locks: on FerretDB a pop must not overlap a writer's update.
        self._locks = locks
        self._producer = producer
        self._prefix = topic_prefix
        self._poll = poll_seconds
        self._batch = batch
        self._wake = asyncio.Event()
        self.published = 0
        self.last_error: str | None = None

    def notify(self) -> None:
        """Call after a write so the relay publishes at once instead of at the next poll."""
        self._wake.set()

    async def ensure_indexes(self) -> None:
        for collection in self._collections:
            await collection.create_index([(PENDING, 1)])

    async def run(self) -> None:
        backoff = self._poll
        while True:
            self._wake.clear()  # before draining: a notify() during the drain wakes the next round
            try:
                busy = await self.drain_once()
                self.last_error = None
                backoff = self._poll
                if busy:
                    continue
            except (KafkaError, OSError, PyMongoError, asyncio.TimeoutError) as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("outbox relay waiting: %s", self.last_error)
                backoff = min(backoff * 2, 10.0)
            try:
                await asyncio.wait_for(self._wake.wait(), backoff)
            except asyncio.TimeoutError:
                pass

    async def drain_once(self) -> bool:
        """Publish what is pending now; True when a full batch was found (more may wait)."""
        busy = False
        for collection in self._collections:
            documents = await collection.find({PENDING: True}, {OUTBOX: 1}).limit(self._batch).to_list()
            busy |= len(documents) == self._batch
            for document in documents:
                await self._publish_document(collection, document)
        return busy

    async def _publish_document(self, collection: AsyncCollection, document: dict[str, Any]) -> None:
        for pending in document.get(OUTBOX, []):
            await self._producer.send(self._prefix + pending["topic"], pending["value"].encode(), key=pending["key"])
            async with self._hold(document["_id"]):
                await collection.update_one({"_id": document["_id"], f"{OUTBOX}.0.id": pending["id"]},
                                            {"$pop": {OUTBOX: -1}})
            self.published += 1
        async with self._hold(document["_id"]):
            await collection.update_one({"_id": document["_id"], OUTBOX: {"$size": 0}}, {"$set": {PENDING: False}})

    def _hold(self, document_id: Any) -> AbstractAsyncContextManager[None]:
        return nullcontext() if self._locks is None else self._locks.hold(document_id)

    async def pending_count(self) -> int:
        total = 0
        for collection in self._collections:
            total += await collection.count_documents({PENDING: True})
        return total
