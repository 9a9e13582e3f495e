"""MongoDB-wire storage helpers (``pymongo.AsyncMongoClient``), limited to what both MongoDB and
FerretDB support: no multi-document transactions, no change streams."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from pydantic_core import to_json
from pymongo import AsyncMongoClient, IndexModel, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure, PyMongoError


def make_client(uri: str, *, timeout_ms: int = 3000, **options: Any) -> AsyncMongoClient[dict[str, Any]]:
    return AsyncMongoClient(uri, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms, tz_aware=True,
                            **options)


async def reachable(client: AsyncMongoClient[dict[str, Any]], timeout: float = 2.0) -> bool:
    try:
        await asyncio.wait_for(client.admin.command("ping"), timeout)
        return True
    except (PyMongoError, OSError, asyncio.TimeoutError):
        return False


async def is_ferretdb(client: AsyncMongoClient[dict[str, Any]]) -> bool:
    return "ferretdbVersion" in await client.admin.command("buildInfo")


async def ensure_indexes(collection: AsyncCollection[dict[str, Any]], *indexes: IndexModel) -> None:
    """Create the indexes the collection's queries want on MongoDB. On FerretDB v1 only the unique
    ones: its SQLite backend reads no secondary index (it looks up ``_id`` and scans for any other
    filter), while every index costs a parse of the document on each write."""
    if await is_ferretdb(collection.database.client):
        indexes = tuple(index for index in indexes if index.document.get("unique"))
    if indexes:
        await collection.create_indexes(list(indexes))


async def find_by_ids(collection: AsyncCollection[dict[str, Any]], ids: Iterable[Any],
                      projection: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """The documents with these ``_id``s, one lookup each: FerretDB v1 answers ``{_id: x}`` from
    its primary key but ``{_id: {$in: [...]}}`` by scanning the whole collection."""
    found = await asyncio.gather(*(collection.find_one({"_id": _id}, projection) for _id in sorted(set(ids))))
    return [document for document in found if document is not None]


# FerretDB v1 decodes a document element by element on every read: a session document of ~1,000
# elements (28 KB) took 12-76 ms to read by _id, the same bytes as one string 2 ms (measured
# 2026-12-07, bench/results.md). Nested values that are only ever read whole are stored packed.
PACKED = "_json"


def pack(document: Mapping[str, Any], fields: Collection[str]) -> dict[str, Any]:
    """``document`` with each of ``fields`` stored as one JSON text, ``<field>_json``."""
    packed = {name: value for name, value in document.items() if name not in fields}
    packed.update({name + PACKED: to_json(document[name]).decode() for name in fields if name in document})
    return packed


def unpack(document: Mapping[str, Any], fields: Collection[str]) -> dict[str, Any]:
    """The document ``pack`` was given; one stored before its fields were packed is left as it is."""
    texts = {name + PACKED: name for name in fields}
    unpacked = {name: value for name, value in document.items() if name not in texts}
    unpacked.update({name: json.loads(document[text]) for text, name in texts.items() if text in document})
    return unpacked


# FerretDB v1 keeps every statement's cursor of an update command open until the command ends,
# and its SQLite pool has 100 connections: a bulk of ~100 updates waits for itself forever (60
# finished; with its PostgreSQL backend 60 hang and 45 finish, measured 2026-12-06).
BULK_CHUNK = 40


async def bulk_write_chunked(collection: AsyncCollection[dict[str, Any]], requests: Sequence[Any]) -> int:
    """``bulk_write`` (unordered) in commands of at most ``BULK_CHUNK`` statements; how many
    documents the updates matched."""
    matched = 0
    for start in range(0, len(requests), BULK_CHUNK):
        result = await collection.bulk_write(list(requests[start:start + BULK_CHUNK]), ordered=False)
        matched += result.matched_count
    return matched


class BulkWrites:
    """Writes to one collection made by many concurrent tasks, sent together: ``write`` waits for
    the bulk command that carries its statement. While one command is under way the statements of
    the next gather, so N concurrent writers cost about N / ``BULK_CHUNK`` commands instead of N
    (FerretDB v1 pays per command as much as per statement). Statements are applied unordered; a
    statement that fails raises in its own writer only, the others of its command stand (so a
    writer that retries its own statement never repeats one that succeeded)."""

    def __init__(self, collection: AsyncCollection[dict[str, Any]]):
        self._collection = collection
        self._gathering: list[tuple[Any, asyncio.Future[None]]] = []
        self._sending: asyncio.Task[None] | None = None

    async def write(self, request: Any) -> None:
        done = asyncio.get_running_loop().create_future()
        self._gathering.append((request, done))
        if self._sending is None or self._sending.done():
            self._sending = asyncio.create_task(self._send())
        await done

    async def close(self) -> None:
        """Stop sending (the writers still waiting get ``CancelledError``)."""
        if self._sending is not None:
            self._sending.cancel()
            await asyncio.gather(self._sending, return_exceptions=True)
        for _, done in self._gathering:
            done.cancel()
        self._gathering = []

    async def _send(self) -> None:
        while self._gathering:
            command, self._gathering = self._gathering[:BULK_CHUNK], self._gathering[BULK_CHUNK:]
            answered = False
            failed: dict[int, Exception] = {}
            try:
                await self._collection.bulk_write([request for request, _ in command], ordered=False)
                answered = True
            except BulkWriteError as exc:
                answered = True
                failed = {e["index"]: OperationFailure(e.get("errmsg", "write failed"), e.get("code"), e)
                          for e in exc.details.get("writeErrors", [])}
                if not failed:  # e.g. a write concern error: none is known to stand
                    failed = dict.fromkeys(range(len(command)), exc)
            except Exception as exc:
                answered = True
                failed = dict.fromkeys(range(len(command)), exc)
            finally:
                for index, (_, done) in enumerate(command):
                    if done.done():
                        continue
                    if not answered:  # cancelled: so are its writers
                        done.cancel()
                    elif index in failed:
                        done.set_exception(failed[index])
                    else:
                        done.set_result(None)


async def upsert_one(collection: AsyncCollection[dict[str, Any]], _id: Any, update: Mapping[str, Any]) -> None:
    """Update the document ``_id``, creating it if missing. Two upserts that both find it missing
    both insert and one fails on the unique ``_id`` (FerretDB and MongoDB alike); the document
    exists then, so the loser's update applies as a plain update."""
    try:
        await collection.update_one({"_id": _id}, update, upsert=True)
    except DuplicateKeyError:
        await collection.update_one({"_id": _id}, update)


DUPLICATE_KEY = 11000


def _older(_id: Any, version: int) -> dict[str, Any]:
    """The document ``_id`` if it holds an older version than ``version`` (or none: written before versions)."""
    return {"_id": _id, "$or": [{"version": {"$lt": version}}, {"version": {"$exists": False}}]}


async def keep_newest(collection: AsyncCollection[dict[str, Any]], _id: Any, version: int,
                      fields: Mapping[str, Any]) -> bool:
    """Set ``fields`` and ``version`` on the document ``_id`` unless it holds this version or a newer one
    (a repeated or out-of-order event changes nothing); True when stored. When a newer version is
    there the filter misses, the upsert inserts the ``_id`` again and the unique key refuses it."""
    try:
        result = await collection.update_one(_older(_id, version), {"$set": {**fields, "version": version}},
                                             upsert=True)
    except DuplicateKeyError:
        return False
    return result.matched_count == 1 or result.upserted_id is not None


async def keep_newest_many(collection: AsyncCollection[dict[str, Any]],
                           versions: Iterable[tuple[Any, int, Mapping[str, Any]]]) -> None:
    """``keep_newest`` for many documents (the newest of each ``_id`` given), in bulk commands of
    ``BULK_CHUNK``."""
    newest: dict[Any, tuple[int, Mapping[str, Any]]] = {}
    for _id, version, fields in versions:
        if _id not in newest or newest[_id][0] < version:
            newest[_id] = (version, fields)
    updates = [(_id, version, fields) for _id, (version, fields) in newest.items()]
    for start in range(0, len(updates), BULK_CHUNK):
        chunk = updates[start:start + BULK_CHUNK]
        try:
            await collection.bulk_write([UpdateOne(_older(_id, version), {"$set": {**fields, "version": version}},
                                                   upsert=True) for _id, version, fields in chunk], ordered=False)
        except BulkWriteError as exc:  # a document there with this version or a newer one
            if any(e.get("code") != DUPLICATE_KEY for e in exc.details.get("writeErrors", [])):
                raise
        except KeyError:  # FerretDB v1 answers some such bulks without ``nModified`` (a replay after a crash)
            for _id, version, fields in chunk:
                await keep_newest(collection, _id, version, fields)


async def insert_new(collection: AsyncCollection[dict[str, Any]], documents: Sequence[dict[str, Any]],
                     chunk: int = 500) -> set[Any]:
    """Insert with unordered ``insert_many`` in commands of ``chunk`` documents (FerretDB v1 inserts
    ~9× cheaper per document than it updates); the ``_id``s that were there already."""
    there: set[Any] = set()
    for start in range(0, len(documents), chunk):
        part = list(documents[start:start + chunk])
        try:
            await collection.insert_many(part, ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if not errors or any(e.get("code") != DUPLICATE_KEY for e in errors):  # e.g. a write concern error
                raise
            there.update(part[e["index"]]["_id"] for e in errors)
    return there
