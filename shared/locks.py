"""Per-key asyncio locks, for read-modify-write on one MongoDB document.

FerretDB v1 applies an update by reading the document, changing it and writing it back, with
no isolation: two concurrent updates of one document lose one of them (even two ``$inc``).
A service that writes a document from several tasks (API requests, its outbox relay) holds the
document's lock around each write, so in one process the writes to a document never overlap.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Hashable, Iterable
from contextlib import AsyncExitStack, asynccontextmanager


class KeyedLocks:
    """One FIFO ``asyncio.Lock`` per key, forgotten when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[Hashable, asyncio.Lock] = {}
        self._users: dict[Hashable, int] = {}

    @asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key], self._locks[key]

    @asynccontextmanager
    async def hold_all(self, keys: Iterable[Hashable]) -> AsyncIterator[None]:
        """Hold the locks of all ``keys``, taken in sorted order: a task holding several never
        waits in a cycle with another (writers hold one lock at a time)."""
        async with AsyncExitStack() as stack:
            for key in sorted(set(keys), key=str):
                await stack.enter_async_context(self.hold(key))
            yield

    def __len__(self) -> int:
        return len(self._locks)
