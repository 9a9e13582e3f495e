"""Reads and writes by ``_id`` use the ``_id`` index of the store, not a collection scan.

The embedded FerretDB is built with a one-line patch for this (hardtech/infra/ferretdb.py);
every service's hot path (outbox relay, projections, compare-and-set writes) depends on it.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from pymongo import InsertOne, UpdateOne
from pymongo.errors import OperationFailure

from shared.mongo import (DUPLICATE_KEY, BulkWrites, keep_newest, keep_newest_many, make_client, pack, unpack,
                          upsert_one)
from shared.settings import CommonSettings
from tests.support import CommandLog

pytestmark = pytest.mark.integration


async def test_a_lookup_by_id_searches_the_id_index(common_settings: CommonSettings):
    client = make_client(common_settings.mongodb_uri)
    db = client[f"{common_settings.topic_prefix}lookups"]
    try:
        await db.items.insert_many([{"_id": f"item-{n}", "n": n} for n in range(50)])
        explained = await db.command("explain", {"find": "items", "filter": {"_id": "item-7"}})
        if "ferretdbVersion" not in explained.get("serverInfo", {}):
            pytest.skip("the store is MongoDB, whose _id lookups use its index anyway")
        plan = " ".join(explained["queryPlanner"]["Plan"])
        assert "USING INDEX" in plan and "__id_" in plan, plan
        assert (await db.items.update_one({"_id": "item-7"}, {"$set": {"n": -7}})).modified_count == 1
        # a compare-and-set narrows by _id and still honours the rest of the filter
        assert (await db.items.update_one({"_id": "item-7", "n": 7}, {"$set": {"n": 0}})).matched_count == 0
        assert (await db.items.update_one({"_id": "item-7", "n": -7}, {"$set": {"n": -8}})).matched_count == 1
        assert await db.items.find_one({"_id": "item-7", "n": {"$gt": 0}}) is None
        assert (await db.items.find_one({"_id": "item-7"}))["n"] == -8
        assert (await db.items.delete_one({"_id": "item-8"})).deleted_count == 1
        assert await db.items.count_documents({}) == 49
    finally:
        await client.drop_database(db.name)
        await client.close()


async def test_racing_upserts_of_one_new_document_all_take_effect(common_settings: CommonSettings):
    """Without the retry, all but one of these fail with a duplicate key on FerretDB."""
    client = make_client(common_settings.mongodb_uri)
    db = client[f"{common_settings.topic_prefix}upserts"]
    try:
        await asyncio.gather(*(upsert_one(db.items, "one", {"$set": {f"by-{n}": n}}) for n in range(20)))
        assert await db.items.count_documents({}) == 1
    finally:
        await client.drop_database(db.name)
        await client.close()


async def test_only_the_newest_version_is_kept_one_at_a_time_and_in_bulk(common_settings: CommonSettings):
    client = make_client(common_settings.mongodb_uri)
    db = client[f"{common_settings.topic_prefix}newest"]
    try:
        stored = [await keep_newest(db.items, "one", version, {"v": version}) for version in (2, 1, 2, 3)]
        assert stored == [True, False, False, True]
        await db.items.insert_one({"_id": "unversioned", "v": 0})  # written before documents carried versions
        await keep_newest_many(db.items, [("two", 5, {"v": 5}), ("two", 4, {"v": 4}), ("one", 1, {"v": 1}),
                                          ("unversioned", 1, {"v": 1}),
                                          *((f"bulk-{n}", 1, {"v": 1}) for n in range(100))])
        assert [(d["_id"], d["v"]) for d in await db.items.find({"_id": {"$in": ["one", "two", "unversioned"]}})
                .sort("_id").to_list()] == [("one", 3), ("two", 5), ("unversioned", 1)]
        assert await db.items.count_documents({"_id": {"$regex": "^bulk-"}, "version": 1}) == 100
    finally:
        await client.drop_database(db.name)
        await client.close()


async def test_a_packed_value_is_one_stored_element_read_back_as_json(common_settings: CommonSettings):
    client = make_client(common_settings.mongodb_uri)
    db = client[f"{common_settings.topic_prefix}packed"]
    book = {"p1": {"role": "attendee", "at": datetime(2026, 12, 7, 8, 30, tzinfo=UTC), "tags": ["5G", "芯片"]}}
    try:
        await db.items.insert_one(pack({"_id": "s1", "title": "专场", "book": book}, ["book"]))
        stored = await db.items.find_one({"_id": "s1"})
        assert stored == {"_id": "s1", "title": "专场",
                          "book_json": '{"p1":{"role":"attendee","at":"2026-12-07T08:30:00Z","tags":["5G","芯片"]}}'}
        assert unpack(stored, ["book"]) == {
            "_id": "s1", "title": "专场", "book": {"p1": {"role": "attendee", "at": "2026-12-07T08:30:00Z",
                                                        "tags": ["5G", "芯片"]}}}
        # a document stored before its field was packed is read as it is
        await db.items.insert_one({"_id": "s0", "book": {"p1": {"role": "presenter"}}})
        assert unpack(await db.items.find_one({"_id": "s0"}), ["book"]) == {"_id": "s0",
                                                                         "book": {"p1": {"role": "presenter"}}}
    finally:
        await client.drop_database(db.name)
        await client.close()


async def test_concurrent_bulk_writes_go_together_and_a_failed_statement_fails_its_writer_only(
        common_settings: CommonSettings):
    log = CommandLog()
    client = make_client(common_settings.mongodb_uri, event_listeners=[log])
    db = client[f"{common_settings.topic_prefix}bulkwrites"]
    try:
        await db.items.insert_many([{"_id": n, "n": 0} for n in range(100)])
        writes = BulkWrites(db.items)
        log.clear()
        statements: list[object] = [UpdateOne({"_id": n}, {"$inc": {"n": 1}}) for n in range(100)]
        statements[7] = InsertOne({"_id": 3})  # there already: fails, alone
        outcomes = await asyncio.gather(*(writes.write(s) for s in statements), return_exceptions=True)
        assert [n for n, o in enumerate(outcomes) if o is not None] == [7]
        assert isinstance(outcomes[7], OperationFailure) and outcomes[7].code == DUPLICATE_KEY
        # 100 writers, commands of at most BULK_CHUNK statements: 40 (39 updates and the insert) + 40 + 20
        assert [len(c["updates"]) for name, _, c in log.commands if name == "update"] == [39, 40, 20]
        assert [len(c["documents"]) for name, _, c in log.commands if name == "insert"] == [1]
        counts = {d["_id"]: d["n"] async for d in db.items.find({})}
        assert counts == {n: 0 if n == 7 else 1 for n in range(100)}
        await writes.close()
    finally:
        await client.drop_database(db.name)
        await client.close()
