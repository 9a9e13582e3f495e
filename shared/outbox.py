"""The transactional outbox without multi-document transactions.

A write and the events it causes are stored atomically in the same MongoDB document: the
entity's update carries ``$push`` onto its ``_outbox`` array (``staged``). The relay publishes
each document's pending events in array order, keyed as staged, and removes them only after
Kafka acknowledged them (``acks=all``). A crash between the two re-publishes: delivery is at
least once and consumers dedupe by event id. While Kafka is down the relay backs off and the
API keeps writing. The relay and the writers hold the same per-document lock for every update,
because FerretDB v1 loses one of two concurrent updates to a document (shared/locks.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
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


class OutboxRelay:
    """Publishes pending events from the outboxes of the given collections.

    Writers call ``notify(collection, document_id)`` after a write, and the relay reads just those
    documents by ``_id`` (the one filter FerretDB v1 does not answer with a collection scan). A
    full scan for the pending flag runs at start, every ``full_scan_seconds``, and after a bare
    ``notify()``, so events of a crashed process or a missed notification are published too.
    ``locks`` are the writers' per-document locks (see shared/locks.py): the relay holds a
    document's lock while it removes what it published, so no writer's update is lost.
    """

    def __init__(self, collections: Sequence[AsyncCollection], producer: Producer, *, locks: KeyedLocks,
                 topic_prefix: str = "", poll_seconds: float = 1.0, batch: int = 200,
                 full_scan_seconds: float = 30.0):
        self._collections = {c.name: c for c in collections}
        self._locks = locks
        self._producer = producer
        self._prefix = topic_prefix
        self._poll = poll_seconds
        self._batch = batch
        self._full_scan_seconds = full_scan_seconds
        self._next_full_scan = 0.0  # at start
        self._dirty: dict[str, set[Any]] = {}
        self._wake = asyncio.Event()
        self.published = 0
        self.last_error: str | None = None

    def notify(self, collection: AsyncCollection | None = None, document_id: Any = None) -> None:
        """Call after a write so the relay publishes at once; without a document, it scans."""
        if collection is None or document_id is None:
            self._next_full_scan = 0.0
        else:
            self._dirty.setdefault(collection.name, set()).add(document_id)
        self._wake.set()

    async def ensure_indexes(self) -> None:
        for collection in self._collections.values():
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
        """Publish what is pending now; True when more may be waiting."""
        if time.monotonic() >= self._next_full_scan:
            self._next_full_scan = time.monotonic() + self._full_scan_seconds
            if await self._scan():
                self._next_full_scan = 0.0  # a full batch: scan again at once
                return True
        return await self._drain_notified()

    async def _scan(self) -> bool:
        busy = False
        for collection in self._collections.values():
            documents = await collection.find({PENDING: True}, {OUTBOX: 1}).limit(self._batch).to_list()
            busy |= len(documents) == self._batch
            for document in documents:
                await self._publish_document(collection, document)
        return busy

    async def _drain_notified(self) -> bool:
        for name in list(self._dirty):
            collection = self._collections[name]
            waiting = sorted(self._dirty.pop(name), key=str)
            for position, document_id in enumerate(waiting):
                try:
                    document = await collection.find_one({"_id": document_id}, {OUTBOX: 1})
                    if document is not None and document.get(OUTBOX):
                        await self._publish_document(collection, document)
                except BaseException:
                    self._dirty.setdefault(name, set()).update(waiting[position:])  # not lost: retried
                    raise
        return bool(self._dirty)

    async def _publish_document(self, collection: AsyncCollection, document: dict[str, Any]) -> None:
        sent: list[str] = []
        try:
            for pending in document.get(OUTBOX, []):
                await self._producer.send(self._prefix + pending["topic"], pending["value"].encode(),
                                          key=pending["key"])
                sent.append(pending["id"])
        finally:
            if sent:
                await self._drop_published(collection, document["_id"], sent)
                self.published += len(sent)

    async def _drop_published(self, collection: AsyncCollection, document_id: Any, sent: list[str]) -> None:
        """Remove the published head of a document's outbox; clear its flag when nothing is left.

        Under the writers' lock nothing else changes the document, so one read and one write by
        ``_id`` suffice (FerretDB answers any other filter by scanning the collection)."""
        async with self._locks.hold(document_id):
            current = await collection.find_one({"_id": document_id}, {OUTBOX: 1})
            outbox = [] if current is None else current.get(OUTBOX, [])
            if [entry["id"] for entry in outbox[:len(sent)]] != sent:
                log.warning("outbox of %s changed under the relay; leaving it as it is", document_id)
                return
            rest = outbox[len(sent):]
            await collection.update_one({"_id": document_id}, {"$set": {OUTBOX: rest, PENDING: bool(rest)}})

    async def pending_count(self) -> int:
        total = 0
        for collection in self._collections.values():
            total += await collection.count_documents({PENDING: True})
        return total
