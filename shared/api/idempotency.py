"""``Idempotency-Key`` on POST: a retried request returns the first response and never creates
a second entity. Keys are scoped to the caller and the route and kept for a day: each record
holds its ``expires_at``, which the reader checks (an expired key is a new one), and a sweeper
deletes expired records in batches (FerretDB has no TTL indexes)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Header, HTTPException, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from pymongo import DeleteOne, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from shared.mongo import BULK_CHUNK, ensure_indexes

log = logging.getLogger(__name__)
COLLECTION = "idempotency_keys"
TTL = timedelta(hours=24)
# A claim still running after this long was left by a process that crashed (requests fail far
# sooner: MongoDB calls time out in seconds), so a retry takes it over instead of a 409 for a day.
ABANDONED_AFTER = timedelta(seconds=30)
SWEEP_EVERY_SECONDS = 3600.0
SWEEP_BATCH = 500


class IdempotencyStore:
    def __init__(self, db: AsyncDatabase[dict[str, Any]], *, abandoned_after: timedelta = ABANDONED_AFTER):
        self._keys = db[COLLECTION]
        self._abandoned_after = abandoned_after

    async def ensure_indexes(self) -> None:
        await ensure_indexes(self._keys, IndexModel([("expires_at", 1)]))

    async def sweep(self, now: datetime | None = None) -> int:
        """Delete the records expired by ``now``, ``SWEEP_BATCH`` at a time; how many were deleted.
        Each delete is by ``_id`` (FerretDB v1 scans for any other filter) and checks the expiry
        again, so a key claimed anew meanwhile stays."""
        now = now or datetime.now(UTC)
        deleted = 0
        while True:
            before = deleted
            expired = [d["_id"] async for d in self._keys.find({"expires_at": {"$lt": now}}, {"_id": 1},
                                                               limit=SWEEP_BATCH)]
            for start in range(0, len(expired), BULK_CHUNK):
                result = await self._keys.bulk_write(
                    [DeleteOne({"_id": _id, "expires_at": {"$lt": now}}) for _id in expired[start:start + BULK_CHUNK]],
                    ordered=False)
                deleted += result.deleted_count
            if len(expired) < SWEEP_BATCH or deleted == before:
                return deleted

    async def run_sweeper(self, every_seconds: float = SWEEP_EVERY_SECONDS) -> None:
        """Sweep now and then every ``every_seconds`` until cancelled."""
        while True:
            swept = await self.sweep()
            if swept:
                log.info("deleted %d expired idempotency keys", swept)
            await asyncio.sleep(every_seconds)

    @staticmethod
    def _id(scope: str, key: str) -> str:
        return hashlib.sha256(f"{scope}\x00{key}".encode()).hexdigest()

    async def begin(self, scope: str, key: str, body: bytes) -> tuple[int, Any] | None:
        """Claim the key; return the stored (status, body) if this is a retry of a finished request."""
        fingerprint = hashlib.sha256(body).hexdigest()
        now = datetime.now(UTC)
        try:
            await self._keys.insert_one({"_id": self._id(scope, key), "fingerprint": fingerprint,
                                         "state": "running", "expires_at": now + TTL})
            return None
        except DuplicateKeyError:
            pass
        stored = await self._keys.find_one({"_id": self._id(scope, key)})
        if stored is None:  # expired and removed between the two calls
            return await self.begin(scope, key, body)
        if stored["expires_at"] < now:
            await self._keys.delete_one({"_id": stored["_id"]})
            return await self.begin(scope, key, body)
        if stored["fingerprint"] != fingerprint:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=[{
                "loc": ["header", "Idempotency-Key"], "type": "value_error",
                "msg": "this Idempotency-Key was used with a different request body"}])
        if stored["state"] != "done":
            claimed_at = stored["expires_at"] - TTL
            if claimed_at < now - self._abandoned_after and await self._take_over(stored, now):
                return None
            raise HTTPException(status.HTTP_409_CONFLICT,
                                detail="a request with this Idempotency-Key is still in progress")
        return stored["status"], stored["body"]

    async def _take_over(self, stored: dict[str, Any], now: datetime) -> bool:
        """Claim a key whose first request died with its process; False when another retry won.
        The winner is whoever inserts the take-over marker of this claim (a unique ``_id``):
        FerretDB v1 may let two compare-and-set updates of the claim both succeed."""
        try:
            await self._keys.insert_one({"_id": f"{stored['_id']}:taken-over:{stored['expires_at'].isoformat()}",
                                         "state": "marker", "expires_at": now + TTL})
        except DuplicateKeyError:
            return False
        taken = await self._keys.update_one({"_id": stored["_id"], "state": "running",
                                             "expires_at": stored["expires_at"]},
                                            {"$set": {"expires_at": now + TTL}})
        return taken.modified_count == 1

    async def reserved_id(self, scope: str, key: str, new_id: Callable[[], str]) -> str:
        """The id of the entity this keyed request creates, fixed before it is written, so a retry
        that takes over after a crash writes the same entity again instead of a second one."""
        claim = await self._keys.find_one({"_id": self._id(scope, key)}, {"entity_id": 1})
        if claim is not None and claim.get("entity_id"):
            return str(claim["entity_id"])
        entity_id = new_id()
        await self._keys.update_one({"_id": self._id(scope, key)}, {"$set": {"entity_id": entity_id}})
        return entity_id

    async def finish(self, scope: str, key: str, status_code: int, body: Any) -> None:
        await self._keys.update_one({"_id": self._id(scope, key)},
                                    {"$set": {"state": "done", "status": status_code, "body": body}})

    async def abandon(self, scope: str, key: str) -> None:
        """Release the key after a failed request, so the client can retry it."""
        await self._keys.delete_one({"_id": self._id(scope, key), "state": "running"})


IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", min_length=1, max_length=200,
    description="A unique value per intended request: a retry with the same key and body returns the first "
                "response and never creates a second entity")]

Body = dict[str, Any]


def _unchanged(body: Body) -> Body:
    return body


async def _as_stored(body: Body) -> Body:
    return body


async def answer_once(request: Request, key: str | None, scope: str, status_code: int,
                      produce: Callable[[], Awaitable[BaseModel]], *,
                      to_store: Callable[[Body], Body] = _unchanged,
                      on_replay: Callable[[Body], Awaitable[Body]] = _as_stored) -> JSONResponse:
    """Run ``produce`` unless this key already answered; ``to_store`` drops what must not be kept
    (a secret shown once) and ``on_replay`` rebuilds the answer of a retry from what was kept."""
    if key is None:
        return JSONResponse((await produce()).model_dump(mode="json"), status_code)
    store: IdempotencyStore = request.app.state.idempotency
    stored = await store.begin(scope, key, await request.body())
    if stored is not None:
        stored_status, stored_body = stored
        return JSONResponse(await on_replay(stored_body), stored_status, headers={"Idempotent-Replayed": "true"})
    try:
        body = (await produce()).model_dump(mode="json")
    except BaseException:
        await store.abandon(scope, key)
        raise
    await store.finish(scope, key, status_code, to_store(body))
    return JSONResponse(body, status_code)
