"""MongoDB-wire storage helpers (``pymongo.AsyncMongoClient``), limited to what both MongoDB and
FerretDB support: no multi-document transactions, no change streams."""

from __future__ import annotations

import asyncio

from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError


def make_client(uri: str, *, timeout_ms: int = 3000) -> AsyncMongoClient:
    return AsyncMongoClient(uri, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms, tz_aware=True)


async def reachable(client: AsyncMongoClient, timeout: float = 2.0) -> bool:
    try:
        await asyncio.wait_for(client.admin.command("ping"), timeout)
        return True
    except (PyMongoError, OSError, asyncio.TimeoutError):
        return False
