"""Per-key locks for read-modify-write on one MongoDB document, held across processes.

FerretDB v1 applies an update by reading the document, changing it and writing it back, with
no isolation: two concurrent updates of one document lose one of them (even two ``$inc``), and
of two concurrent compare-and-set updates (``{_id, revision}``) both may report a match. A
service that writes a document from several tasks (API requests, its outbox relay) or several
processes (replicas) holds the document's lock around each write, so writes to a document never
overlap.

In one process the lock is an ``asyncio.Lock``. Across processes it is a lease in the store: a
document whose ``_id`` is the key, inserted to take the lock and deleted to release it. The one
thing FerretDB v1 does guarantee atomically is a unique key (of 20 concurrent inserts of one
``_id`` exactly one succeeds), so two processes never hold the same lease. The holder renews its
leases while it holds them (a holder of several renews one document of its own instead,
``HOLDER``). A process that dies holding a lease leaves it behind: it expires
``lease_seconds`` after the last renewal and the next taker removes it, after first inserting a
take-over marker for that lease (unique too), so only one process removes a given expired lease.
A holder whose event loop stalls for longer than the lease could overlap with the next holder:
that is the limit of any lease without fencing.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import AsyncIterator, Hashable, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import DeleteOne, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError, PyMongoError

from shared.mongo import BULK_CHUNK

log = logging.getLogger(__name__)

COLLECTION = "locks"
# How long a lease outlives a holder that died (its holder renews it while alive).
LEASE_SECONDS = 6.0
RENEWALS_PER_LEASE = 3
DUPLICATE_KEY = 11000
# Waiting for a lease another process holds: a short first retry, then up to this long.
FIRST_RETRY_SECONDS = 0.002
LONGEST_RETRY_SECONDS = 0.05
# The document of a holder of several leases: it alone is renewed while they are held (one update
# per renewal instead of one per lease: a fetch holding 500 leases renewed them at ~100 updates/s
# of FerretDB's, as many as its own writes). A lease has expired when it and its holder's
# document (if any) both have.
HOLDER = "\x00holder\x00"


class StoreLeases:
    """Leases on keys, one document per held key in ``collection``, exclusive across processes."""

    def __init__(self, collection: AsyncCollection[dict[str, Any]], *, lease_seconds: float = LEASE_SECONDS):
        self._leases = collection
        self._lease = timedelta(seconds=lease_seconds)

    @asynccontextmanager
    async def held(self, names: list[str]) -> AsyncIterator[None]:
        """Hold the leases of ``names`` (sorted, distinct), taken in that order."""
        owner = uuid.uuid4().hex
        taken: list[str] = []
        renewing: asyncio.Task[None] | None = None
        holder = [HOLDER + owner] if len(names) > 1 else []
        try:
            if holder:
                await self._leases.insert_one({"_id": holder[0], "expires_at": datetime.now(UTC) + self._lease})
            renewing = asyncio.create_task(self._renew(holder or names, owner if not holder else None))
            while len(taken) < len(names):
                taken += await self._take(names[len(taken):], owner)
            yield
        finally:
            if renewing is not None:
                renewing.cancel()
            # All of them: an insert whose answer was lost may have taken more than ``taken``.
            await self._release(names, owner)
            if holder:
                await self._release_holder(holder[0])

    @asynccontextmanager
    async def held_if_free(self, name: str) -> AsyncIterator[bool]:
        """Hold the lease of ``name`` if no other holder has it (one left by a process that died is
        taken over once it has expired); yields whether it is held, never waits for it."""
        owner = uuid.uuid4().hex
        try:
            taken = await self._insert([name], owner) == 1
            if not taken and await self._remove_if_expired(name, datetime.now(UTC)):
                taken = await self._insert([name], owner) == 1
        except PyMongoError:
            await self._release([name], owner)  # an insert whose answer was lost may have taken it
            raise
        if not taken:
            yield False
            return
        renewing = asyncio.create_task(self._renew([name], owner))
        try:
            yield True
        finally:
            renewing.cancel()
            await self._release([name], owner)

    async def _renew(self, names: list[str], owner: str | None) -> None:
        """Extend the leases while they are held (a write under a lock takes milliseconds; a
        store that slow is the case this covers), so a short lease only ever expires when its
        holder has died."""
        while True:
            await asyncio.sleep(self._lease.total_seconds() / RENEWALS_PER_LEASE)
            expires_at = datetime.now(UTC) + self._lease
            try:
                for start in range(0, len(names), BULK_CHUNK):
                    await self._leases.bulk_write([UpdateOne({"_id": name, **({"owner": owner} if owner else {})},
                                                             {"$set": {"expires_at": expires_at}})
                                                   for name in names[start:start + BULK_CHUNK]], ordered=False)
            except PyMongoError as exc:
                log.warning("locks %s not renewed: %s", names, exc)

    async def _take(self, names: list[str], owner: str) -> list[str]:
        """Take the leases of ``names`` in order, waiting for the first one if another holds it;
        returns the names taken (a prefix of ``names``, never empty)."""
        wait = FIRST_RETRY_SECONDS
        while True:
            now = datetime.now(UTC)
            if taken := await self._insert(names, owner):
                return names[:taken]
            await self._remove_if_expired(names[0], now)
            await asyncio.sleep(wait * random.uniform(0.5, 1.5))
            wait = min(wait * 2, LONGEST_RETRY_SECONDS)

    async def _insert(self, names: list[str], owner: str) -> int:
        """Insert the leases of ``names`` in order, up to the first another holder has; how many."""
        expires_at = datetime.now(UTC) + self._lease
        try:
            await self._leases.insert_many([{"_id": name, "owner": owner, "expires_at": expires_at}
                                            for name in names], ordered=True)
            return len(names)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if not errors or errors[0].get("code") != DUPLICATE_KEY:
                raise
            return int(errors[0]["index"])

    async def _remove_if_expired(self, name: str, now: datetime) -> bool:
        """Remove the lease of ``name`` if it expired before ``now``; whether this call removed it."""
        lease = await self._leases.find_one({"_id": name})
        if lease is None or lease["expires_at"] > now:
            return False
        holder = await self._leases.find_one({"_id": HOLDER + lease["owner"]})
        if holder is not None and holder["expires_at"] > now:
            return False  # its holder, alive, renews its document instead
        marker = f"{name}\x00taken over from\x00{lease['owner']}"
        try:
            await self._leases.insert_one({"_id": marker, "expires_at": now + self._lease})
        except DuplicateKeyError:
            return False  # another process is removing it
        await self._leases.delete_one({"_id": name, "owner": lease["owner"]})
        await self._leases.delete_one({"_id": marker})
        log.warning("lock %r: removed the lease its holder left behind (expired %s)", name, lease["expires_at"])
        return True

    async def _release_holder(self, holder: str) -> None:
        try:
            await self._leases.delete_one({"_id": holder})
        except PyMongoError as exc:  # it expires; nobody reads it after the leases are gone
            log.warning("lock holder %s not removed: %s", holder, exc)

    async def _release(self, names: list[str], owner: str) -> None:
        if not names:
            return
        try:
            for start in range(0, len(names), BULK_CHUNK):  # by _id: FerretDB v1 scans for any other filter
                await self._leases.bulk_write([DeleteOne({"_id": name, "owner": owner})
                                               for name in names[start:start + BULK_CHUNK]], ordered=False)
        except PyMongoError as exc:  # the leases expire; the write under them already succeeded or failed
            log.warning("locks %s not released, they expire in %s: %s", names, self._lease, exc)


class KeyedLocks:
    """One FIFO ``asyncio.Lock`` per key, forgotten when nobody holds or waits for it; with
    ``leases``, each held key is leased in the store too, so other processes wait for it."""

    def __init__(self, leases: StoreLeases | None = None) -> None:
        self._locks: dict[Hashable, asyncio.Lock] = {}
        self._users: dict[Hashable, int] = {}
        self._leases = leases

    @asynccontextmanager
    async def _hold_here(self, key: Hashable) -> AsyncIterator[None]:
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
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        async with self.hold_all([key]):
            yield

    @asynccontextmanager
    async def hold_all(self, keys: Iterable[Hashable]) -> AsyncIterator[None]:
        """Hold the locks of all ``keys``, taken in sorted order: a task holding several never
        waits in a cycle with another (writers hold one lock at a time)."""
        ordered = sorted(set(keys), key=str)
        async with AsyncExitStack() as stack:
            for key in ordered:
                await stack.enter_async_context(self._hold_here(key))
            if self._leases is not None:
                await stack.enter_async_context(self._leases.held([str(key) for key in ordered]))
            yield

    @asynccontextmanager
    async def hold_if_free(self, key: Hashable) -> AsyncIterator[bool]:
        """Hold the lock of ``key`` if nobody else (here or in another process) holds or waits for
        it; yields whether it is held. For work that one holder does and the others leave."""
        if key in self._locks:
            yield False
            return
        async with self._hold_here(key):
            if self._leases is None:
                yield True
            else:
                async with self._leases.held_if_free(str(key)) as held:
                    yield held

    def __len__(self) -> int:
        return len(self._locks)
