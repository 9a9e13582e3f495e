"""Locks held across processes through leases in the store (shared/locks.py), on the real store.
Each "process" is its own client with its own ``KeyedLocks``, as two replicas of a service are."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from shared.locks import COLLECTION, HOLDER, KeyedLocks, StoreLeases
from shared.mongo import make_client
from tests.conftest import database_name
from tests.infrastructure import Endpoints

pytestmark = pytest.mark.integration


@pytest.fixture
async def databases(infra: Endpoints, namespace: str) -> AsyncIterator[list[AsyncDatabase[dict[str, Any]]]]:
    """The same database through two clients."""
    clients: list[AsyncMongoClient[dict[str, Any]]] = [make_client(infra.mongodb_uri) for _ in range(2)]
    name = database_name(namespace, "locks")
    yield [client[name] for client in clients]
    await clients[0].drop_database(name)
    for client in clients:
        await client.close()


async def test_increments_under_the_lock_from_two_processes_all_count(databases):
    """FerretDB v1 loses concurrent ``$inc`` of one document; under the lock none is lost."""
    locks = [KeyedLocks(StoreLeases(db[COLLECTION])) for db in databases]
    await databases[0]["counters"].insert_one({"_id": "c", "n": 0})

    async def increment(side: int) -> None:
        async with locks[side].hold("c"):
            await databases[side]["counters"].update_one({"_id": "c"}, {"$inc": {"n": 1}})

    await asyncio.gather(*(increment(n % 2) for n in range(120)))
    assert await databases[0]["counters"].find_one({"_id": "c"}) == {"_id": "c", "n": 120}
    assert await databases[0][COLLECTION].count_documents({}) == 0  # every lease released


@pytest.mark.parametrize("lease_seconds", [30.0, 0.6], ids=["held-briefly", "held-longer-than-its-lease"])
async def test_a_lease_another_process_holds_is_waited_for(databases, lease_seconds):
    """Also when it is held for longer than the lease lasts: its holder renews it."""
    first, second = (KeyedLocks(StoreLeases(db[COLLECTION], lease_seconds=lease_seconds)) for db in databases)
    seen: list[str] = []
    holding = asyncio.Event()

    async def hold(locks: KeyedLocks, name: str, keys: list[str]) -> None:
        async with locks.hold_all(keys):
            seen.append(f"{name} in")
            holding.set()
            await asyncio.sleep(2.0)
            seen.append(f"{name} out")

    a = asyncio.create_task(hold(first, "a", ["k1", "k2"]))
    await holding.wait()
    await hold(second, "b", ["k2", "k3"])
    await a
    assert seen == ["a in", "a out", "b in", "b out"]


async def test_a_lease_left_by_a_dead_holder_is_taken_over_once_expired(databases):
    leases = databases[0][COLLECTION]
    await leases.insert_one({"_id": "k", "owner": "dead", "expires_at": datetime.now(UTC) - timedelta(seconds=1)})
    locks = KeyedLocks(StoreLeases(databases[1][COLLECTION]))
    async with locks.hold("k"):
        lease = await leases.find_one({"_id": "k"})
        assert lease is not None and lease["owner"] != "dead"
    assert await leases.count_documents({}) == 0  # the lease released, the take-over marker removed


async def _waiting_for_k(database) -> asyncio.Task[None]:
    """A process taking the lock of "k": still waiting for it a second later."""
    locks = KeyedLocks(StoreLeases(database[COLLECTION]))

    async def take() -> None:
        async with locks.hold("k"):
            pass

    waiting = asyncio.create_task(take())
    await asyncio.sleep(1.0)
    assert not waiting.done()
    return waiting


async def test_a_lease_still_valid_is_not_taken_over(databases):
    leases = databases[0][COLLECTION]
    await leases.insert_one({"_id": "k", "owner": "alive", "expires_at": datetime.now(UTC) + timedelta(minutes=5)})
    waiting = await _waiting_for_k(databases[1])
    await leases.delete_one({"_id": "k", "owner": "alive"})  # its holder releases it
    await asyncio.wait_for(waiting, 10)
    assert await leases.count_documents({}) == 0


async def test_hold_if_free_gives_a_key_to_one_of_many_takers_and_takes_over_a_dead_holders(databases):
    """40 takers of one key on two processes, all at once: exactly one holds it, the others are
    told so without waiting; a lease left by a dead holder is taken once it has expired."""
    locks = [KeyedLocks(StoreLeases(db[COLLECTION])) for db in databases]
    release = asyncio.Event()

    async def take(side: int) -> bool:
        async with locks[side].hold_if_free("k") as held:
            if held:
                await release.wait()
            return held

    takers = [asyncio.create_task(take(n % 2)) for n in range(40)]
    while sum(t.done() for t in takers) < 39:  # the one holding it waits for ``release``
        await asyncio.sleep(0.05)
    release.set()
    assert sorted(await asyncio.gather(*takers)) == [False] * 39 + [True]
    assert await databases[0][COLLECTION].count_documents({}) == 0

    leases = databases[0][COLLECTION]
    await leases.insert_one({"_id": "k", "owner": "dead", "expires_at": datetime.now(UTC) - timedelta(seconds=1)})
    async with locks[1].hold_if_free("k") as held:
        assert held
        lease = await leases.find_one({"_id": "k"})
        assert lease is not None and lease["owner"] != "dead"
    await leases.insert_one({"_id": "k", "owner": "alive", "expires_at": datetime.now(UTC) + timedelta(minutes=5)})
    async with locks[1].hold_if_free("k") as held:
        assert not held
    assert [lease["owner"] async for lease in leases.find({})] == ["alive"]


async def test_a_holder_of_several_leases_renews_its_own_document_and_they_are_kept(databases):
    leases = databases[0][COLLECTION]
    past = datetime.now(UTC) - timedelta(seconds=1)
    # a lease past its time whose holder (of several) is alive: its document renewed
    await leases.insert_many([{"_id": "k", "owner": "alive", "expires_at": past},
                              {"_id": HOLDER + "alive", "expires_at": datetime.now(UTC) + timedelta(minutes=5)}])
    waiting = await _waiting_for_k(databases[1])
    await leases.update_one({"_id": HOLDER + "alive"}, {"$set": {"expires_at": past}})  # its holder died
    await asyncio.wait_for(waiting, 10)
    assert await leases.find_one({"_id": "k"}) is None

    await leases.delete_many({})
    several = KeyedLocks(StoreLeases(databases[1][COLLECTION], lease_seconds=0.6))  # renewed every 0.2 s
    async with several.hold_all(["a", "b", "c"]):
        taken = {d["_id"]: d["expires_at"] for d in await leases.find({}).to_list()}
        await asyncio.sleep(1.0)
        now = {d["_id"]: d["expires_at"] for d in await leases.find({}).to_list()}
        holder = [name for name in now if name.startswith(HOLDER)]
        assert len(holder) == 1 and sorted(set(now) - set(holder)) == ["a", "b", "c"]
        assert now[holder[0]] > taken[holder[0]]  # the holder's document is renewed
        assert all(now[name] == taken[name] for name in now if name not in holder)  # the leases are not
    assert await leases.count_documents({}) == 0
