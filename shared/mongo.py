"""MongoDB-wire storage helpers (``pymongo.AsyncMongoClient``), limited to what both MongoDB and
FerretDB support: no multi-document transactions, no change streams."""

from __future__ import annotations

import asyncio

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

PROCESSED_EVENTS = "processed_events"


def make_client(uri: str, *, timeout_ms: int = 3000) -> AsyncMongoClient:
    return AsyncMongoClient(uri, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms, tz_aware=True)


async def reachable(client: AsyncMongoClient, timeout: float = 2.0) -> bool:
    try:
        await asyncio.wait_for(client.admin.command("ping"), timeout)
        return True
    except (PyMongoError, OSError, asyncio.TimeoutError):
        return False


async def first_time(db: AsyncDatabase, event_id: str, consumer: str) -> bool:
    """Record that ``consumer`` handled ``event_id``; False when it already had (dedupe by id)."""
    try:
        await db[PROCESSED_EVENTS].insert_one({"_id": f"{consumer}:{event_id}"})
        return True
    except DuplicateKeyError:
        return False
