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
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiokafka.errors import KafkaError
from pymongo import IndexModel, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import PyMongoError

from shared.events import CloudEvent, encode, keyed
from shared.kafka import Producer
from shared.locks import KeyedLocks
from shared.mongo import bulk_write_chunked, ensure_indexes
from shared.service import woken
from shared.topics import TopicSpec

log = logging.getLogger(__name__)

OUTBOX = "_outbox"
PENDING = "_outbox_pending"


def entry(event: CloudEvent[Any], topic: TopicSpec, key: str) -> dict[str, Any]:
    """One pending event as stored in a document's outbox."""
    return {"id": event.id, "topic": topic.name, "key": key, "value": encode(keyed(event, key)).decode()}


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

    Writers call ``notify(collection, document_id, *entries)`` after a write, passing the events it
    staged. The relay publishes those as they are and removes them with compare-and-set updates
    (each matches only while its document's outbox is exactly what this process staged), one command
    for the documents published together, so it never reads a document back: FerretDB v1 parses a
    whole document for every read, which costs more than the write. Whenever the outbox holds
    something else (events of a crashed process, a write that passed no entries, more than
    ``max_staged`` documents waiting), the relay reads the document by ``_id`` instead (the one
    filter FerretDB v1 does not answer with a collection scan). A full scan for the pending flag
    runs at start, before anything staged is published (so events a crashed process left go first),
    after a bare ``notify()``, and every ``full_scan_seconds`` when no handed-over document is
    waiting.
    ``locks`` are the writers' per-document locks (see shared/locks.py): the relay holds a
    document's lock while it removes what it published, so no writer's update is lost. Events sent
    but not yet removed when something fails are sent again later: consumers dedupe by event id.
    """

    def __init__(self, collections: Sequence[AsyncCollection[dict[str, Any]]], producer: Producer, *, locks: KeyedLocks,
                 topic_prefix: str = "", poll_seconds: float = 1.0, batch: int = 200,
                 full_scan_seconds: float = 30.0, concurrency: int = 32, max_staged: int = 10_000):
        self._collections = {c.name: c for c in collections}
        self._locks = locks
        self._producer = producer
        self._prefix = topic_prefix
        self._poll = poll_seconds
        self._batch = batch
        self._full_scan_seconds = full_scan_seconds
        self._concurrency = concurrency  # documents published at once: their sends share Kafka batches
        self._max_staged = max_staged
        self._scan_requested = True  # at start
        self._next_full_scan = 0.0
        self._swept = False  # True once a full scan found nothing more: staged entries may be trusted
        self._dirty: dict[str, set[Any]] = {}
        # (collection, _id) -> the outbox as this process's writes left it, oldest first
        self._staged: dict[tuple[str, Any], list[dict[str, Any]]] = {}
        self._wake = asyncio.Event()
        self.published = 0
        self.last_error: str | None = None

    def notify(self, collection: AsyncCollection[dict[str, Any]] | None = None, document_id: Any = None,
               *entries: dict[str, Any]) -> None:
        """Call after a write (with the entries it staged) so the relay publishes at once; without
        a document, it scans."""
        if collection is None or document_id is None:
            self._scan_requested = True
        else:
            self._mark_dirty(collection.name, [document_id])
            key = (collection.name, document_id)
            if entries and (key in self._staged or len(self._staged) < self._max_staged):
                staged = self._staged.setdefault(key, [])
                known = {entry["id"] for entry in staged}
                staged.extend(entry for entry in entries if entry["id"] not in known)
        self._wake.set()

    def _mark_dirty(self, collection_name: str, document_ids: list[Any]) -> None:
        if document_ids:
            self._dirty.setdefault(collection_name, set()).update(document_ids)

    async def ensure_indexes(self) -> None:
        for collection in self._collections.values():
            await ensure_indexes(collection, IndexModel([(PENDING, 1)]))

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
            await woken(self._wake, backoff)

    async def drain_once(self) -> bool:
        """Publish what is pending now; True when more may be waiting."""
        # The periodic scan reads every document of FerretDB v1's collections: it waits until the
        # documents writers handed over are published.
        if self._scan_requested or (not self._dirty and time.monotonic() >= self._next_full_scan):
            self._scan_requested = False
            try:
                busy = await self._scan()
            except BaseException:
                self._next_full_scan = 0.0
                raise
            if busy:
                self._next_full_scan = 0.0  # a full batch: scan again, once the notified work allows
                return True
            self._next_full_scan = time.monotonic() + self._full_scan_seconds
            self._swept = True
        return await self._drain_notified()

    async def _scan(self) -> bool:
        busy = False
        for collection in self._collections.values():
            documents = await collection.find({PENDING: True}, {OUTBOX: 1}).limit(self._batch).to_list()
            busy |= len(documents) == self._batch
            _, error = await self._each(collection, documents, _as_read)
            if error is not None:
                raise error
        return busy

    async def _drain_notified(self) -> bool:
        for name in list(self._dirty):
            collection = self._collections[name]
            waiting = sorted(self._dirty.pop(name), key=str)
            unfinished, error = waiting, None
            try:
                unfinished, error = await self._each(collection, waiting, self._notified_outbox)
            finally:
                self._mark_dirty(name, unfinished)  # not lost: retried
            if error is not None:
                raise error
        return bool(self._dirty)

    async def _each(self, collection: AsyncCollection[dict[str, Any]], work: list[Any],
                    load: Callable[[AsyncCollection[dict[str, Any]], Any], Awaitable[dict[str, Any] | None]],
                    ) -> tuple[list[Any], Exception | None]:
        """Publish the outbox of every element's document (``load`` gives it), ``concurrency`` at a
        time, and drop what each chunk published in one command; stops at the first chunk that
        fails and returns the elements not done with that failure (``[]`` and None when all went)."""
        for start in range(0, len(work), self._concurrency):
            chunk = work[start:start + self._concurrency]
            outcomes = await asyncio.gather(*(self._publish(collection, element, load) for element in chunk),
                                            return_exceptions=True)
            for outcome in outcomes:
                if isinstance(outcome, BaseException) and not isinstance(outcome, Exception):
                    raise outcome  # cancellation and exits are not the relay's to handle
            published = [outcome for outcome in outcomes if isinstance(outcome, tuple)]
            failed = [(element, outcome) for element, outcome in zip(chunk, outcomes, strict=True)
                      if isinstance(outcome, Exception)]
            try:
                await self._drop_published(collection, published)
            except Exception as exc:  # what was sent goes again: consumers dedupe by event id
                return chunk + work[start + len(chunk):], exc
            if failed:
                return [element for element, _ in failed] + work[start + len(chunk):], failed[0][1]
        return [], None

    async def _notified_outbox(self, collection: AsyncCollection[dict[str, Any]],
                               document_id: Any) -> dict[str, Any] | None:
        """The outbox a writer handed over, or else the document's as read."""
        staged = self._staged.get((collection.name, document_id)) if self._swept else None
        if staged:
            return {"_id": document_id, OUTBOX: list(staged)}
        return await collection.find_one({"_id": document_id}, {OUTBOX: 1})

    async def _publish(self, collection: AsyncCollection[dict[str, Any]], element: Any,
                       load: Callable[[AsyncCollection[dict[str, Any]], Any], Awaitable[dict[str, Any] | None]],
                       ) -> tuple[Any, list[str]] | None:
        """Send a document's pending events in order; its ``_id`` and the ids sent."""
        document = await load(collection, element)
        if document is None or not document.get(OUTBOX):
            return None
        for pending in document[OUTBOX]:
            await self._producer.send_encoded_event(self._prefix + pending["topic"], pending["value"].encode(),
                                                    key=pending["key"])
        return document["_id"], _ids(document[OUTBOX])

    async def _drop_published(self, collection: AsyncCollection[dict[str, Any]],
                              published: list[tuple[Any, list[str]]]) -> None:
        """Remove the published head of each document's outbox; clear its flag when nothing is left.

        Under the writers' locks nothing else changes the documents: one bulk of updates by
        ``_id`` that expect the staged outboxes is enough (FerretDB v1 parses each document
        again for every command, so one command for many is cheaper), and only a document whose
        update did not match is read."""
        if not published:
            return
        async with self._locks.hold_all(document_id for document_id, _ in published):
            expected: dict[Any, list[dict[str, Any]]] = {}
            for document_id, sent in published:
                staged = self._staged.get((collection.name, document_id))
                if staged and _ids(staged[:len(sent)]) == sent:
                    expected[document_id] = list(staged)
            matched_all = True
            if expected:
                matched = await bulk_write_chunked(collection, [
                    UpdateOne({"_id": document_id, OUTBOX: outbox}, _outbox_set(outbox[len(sent):]))
                    for document_id, sent in published if (outbox := expected.get(document_id)) is not None])
                matched_all = matched == len(expected)
            for document_id, sent in published:
                outbox = expected.get(document_id)
                if outbox is not None and matched_all:
                    self._trim_staged(collection.name, document_id, len(sent))
                    continue
                current = await _outbox_of(collection, document_id)  # which update matched is unknown
                if outbox is not None and current == outbox[len(sent):]:
                    self._trim_staged(collection.name, document_id, len(sent))
                else:
                    await self._drop_read(collection, document_id, sent, current)
            self.published += sum(len(sent) for _, sent in published)

    def _trim_staged(self, collection_name: str, document_id: Any, count: int) -> None:
        key = (collection_name, document_id)
        staged = self._staged[key]
        del staged[:count]  # entries staged during the update stay
        if not staged:
            del self._staged[key]

    async def _drop_read(self, collection: AsyncCollection[dict[str, Any]], document_id: Any, sent: list[str],
                         outbox: list[dict[str, Any]]) -> None:
        """Drop ``sent`` from a document's ``outbox`` as just read (under its lock)."""
        self._staged.pop((collection.name, document_id), None)  # not what the document holds: read it from now on
        if _ids(outbox[:len(sent)]) != sent:
            log.warning("outbox of %s changed under the relay; leaving it as it is", document_id)
            return
        rest = outbox[len(sent):]
        await collection.update_one({"_id": document_id}, _outbox_set(rest))
        if rest:  # events some write did not hand over: read them in the next round
            self._mark_dirty(collection.name, [document_id])

    async def pending_count(self) -> int:
        total = 0
        for collection in self._collections.values():
            total += await collection.count_documents({PENDING: True})
        return total


async def _outbox_of(collection: AsyncCollection[dict[str, Any]], document_id: Any) -> list[dict[str, Any]]:
    """The document's outbox as it is now; empty when the document is gone."""
    current = await collection.find_one({"_id": document_id}, {OUTBOX: 1})
    return [] if current is None else current.get(OUTBOX, [])


async def _as_read(_: AsyncCollection[dict[str, Any]], document: dict[str, Any]) -> dict[str, Any]:
    return document


def _ids(entries: list[dict[str, Any]]) -> list[str]:
    return [entry["id"] for entry in entries]


def _outbox_set(rest: list[dict[str, Any]]) -> dict[str, Any]:
    return {"$set": {OUTBOX: rest, PENDING: bool(rest)}}
