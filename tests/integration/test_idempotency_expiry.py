"""Idempotency records expire after their documented lifetime (a day): the reader treats an
expired key as new, and the sweeper deletes expired records in batches on the real store."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import HTTPException

from shared.api import idempotency
from shared.api.idempotency import IdempotencyStore
from shared.mongo import make_client
from shared.settings import CommonSettings

pytestmark = pytest.mark.integration


async def test_the_sweeper_deletes_every_expired_record_in_batches_and_keeps_the_live_ones(
        common_settings: CommonSettings, namespace, monkeypatch):
    monkeypatch.setattr(idempotency, "SWEEP_BATCH", 40)  # three batches and a rest
    mongo = make_client(common_settings.mongodb_uri)
    db = mongo[f"{namespace}db"]
    keys = IdempotencyStore(db)
    now = datetime.now(UTC)
    await db[idempotency.COLLECTION].insert_many(
        [{"_id": f"old-{n}", "state": "done", "fingerprint": "f", "expires_at": now - timedelta(seconds=n + 1)}
         for n in range(130)])
    assert await keys.begin("POST /listings p1", "fresh", b"{}") is None  # a live claim, expiring in a day
    assert await keys.sweep(now) == 130
    remaining = await db[idempotency.COLLECTION].find({}, {"expires_at": 1}).to_list()
    assert len(remaining) == 1 and remaining[0]["expires_at"] - now > idempotency.TTL - timedelta(minutes=1)
    assert await keys.sweep(now + idempotency.TTL + timedelta(seconds=1)) == 1
    assert await db[idempotency.COLLECTION].count_documents({}) == 0
    await mongo.close()


async def test_an_expired_key_is_a_new_request(common_settings: CommonSettings, namespace):
    mongo = make_client(common_settings.mongodb_uri)
    keys = IdempotencyStore(mongo[f"{namespace}db"])
    assert await keys.begin("POST /listings p1", "k", b"{}") is None
    await keys.finish("POST /listings p1", "k", 201, {"id": "l1"})
    assert await keys.begin("POST /listings p1", "k", b"{}") == (201, {"id": "l1"})
    await mongo[f"{namespace}db"][idempotency.COLLECTION].update_many(
        {}, {"$set": {"expires_at": datetime.now(UTC) - timedelta(seconds=1)}})
    assert await keys.begin("POST /listings p1", "k", b"{}") is None
    await mongo.close()


async def test_a_claim_left_by_a_crash_is_taken_over_by_one_retry_only(common_settings: CommonSettings, namespace):
    """Retries of a request whose first attempt died, at once on two processes (two clients):
    exactly one takes the claim over and runs; the others are told it is in progress (409)."""
    clients = [make_client(common_settings.mongodb_uri) for _ in range(2)]
    stores = [IdempotencyStore(client[f"{namespace}db"]) for client in clients]
    assert await stores[0].begin("POST /listings p1", "k", b"{}") is None
    claim = clients[0][f"{namespace}db"][idempotency.COLLECTION]  # its process died an hour ago
    await claim.update_many({}, {"$set": {"expires_at": datetime.now(UTC) + idempotency.TTL - timedelta(hours=1)}})

    async def retry(n: int) -> int:
        try:
            return 201 if await stores[n % 2].begin("POST /listings p1", "k", b"{}") is None else 200
        except HTTPException as exc:
            return exc.status_code

    answers = await asyncio.gather(*(retry(n) for n in range(20)))
    assert sorted(answers) == [201] + [409] * 19
    await clients[0].drop_database(f"{namespace}db")
    for client in clients:
        await client.close()
