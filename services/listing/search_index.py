"""MongoDB adapter of the search index (the read model of ``domain/search.py``): heads, postings and
one entry per item, every read and write by ``_id``.

- ``search_heads``: ``{_id: "offer:text:量子", buckets: [0, 3, …]}``, the buckets that hold a term;
- ``search_postings``: ``{_id: "offer:text:量子:3", ids: [...]}``, the items of a term in a bucket;
- ``search_entries``: ``{_id: item id, side, bucket, terms}``, what is posted of an item, so a
  change posts and withdraws only the difference (terms as one space-separated string: FerretDB
  v1 stores a type entry per array element);
- ``search_counters``: ``{_id: side, items: n}``, how many items have been placed in buckets.

One task of the process writes all of them (FerretDB v1 loses one of two concurrent updates of a
document, and the postings and heads are shared by many items): changes submitted while it writes
wait and go together in the next batch, each kind of document in bulk commands of at most
``BULK_CHUNK`` statements. A change posts new terms (heads, then postings, then the entry) before
the item is written, and withdraws old ones (postings, then the entry) after, so a crash anywhere
leaves the postings a superset of the items' terms, which a page checks against the items anyway.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterable, Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from services.listing.domain.search import BUCKET_SIZE, Position, intersect, shared_buckets
from shared.locks import KeyedLocks
from shared.mongo import bulk_write_chunked, find_by_ids, insert_new
from shared.party_types import Side

LOAD_CHUNK = 1_000  # documents per insert_many when the index is built from the items
POSTED_HEADS_REMEMBERED = 100_000
KNOWN_REMEMBERED = 200_000  # ids of heads and postings known to exist (then updated, not inserted)


@dataclass
class _Change:
    side: Side
    item_id: str
    bucket: int | None  # None: not placed yet (a new item); the writer places it
    posts: set[str]
    withdraws: set[str]
    terms: set[str]  # the entry's terms once written


def _terms_text(terms: Iterable[str]) -> str:
    return " ".join(sorted(terms))


def _terms_of(entry: dict[str, Any] | None) -> set[str]:
    return set() if entry is None else set(entry["terms"].split())


class SearchIndex:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]):
        self.heads: AsyncCollection[dict[str, Any]] = db["search_heads"]
        self.postings: AsyncCollection[dict[str, Any]] = db["search_postings"]
        self.entries: AsyncCollection[dict[str, Any]] = db["search_entries"]
        self.counters: AsyncCollection[dict[str, Any]] = db["search_counters"]
        self._placed: dict[Side, int] = {}
        self._pending: list[tuple[_Change, asyncio.Future[None]]] = []
        self._writer = asyncio.Lock()
        self._posted_heads: set[tuple[Side, str, int]] = set()  # known to be in their head already
        self._known_heads: set[str] = set()
        self._known_postings: set[str] = set()
        self._items = KeyedLocks()

    def changing(self, item_id: str) -> AbstractAsyncContextManager[None]:
        """Held from posting an item's new terms until its old ones are withdrawn: two changes of
        one item never interleave (the second would withdraw what the first posted)."""
        return self._items.hold(item_id)

    # writes

    async def post(self, side: Side, item_id: str, terms: set[str]) -> None:
        """Post the terms the item is about to have (before the item is written with them)."""
        entry = await self.entries.find_one({"_id": item_id})
        known = _terms_of(entry)
        if entry is None or terms - known:
            await self._submit(_Change(side, item_id, None if entry is None else entry["bucket"],
                                       terms - known, set(), known | terms))

    async def withdraw(self, item_id: str, terms: set[str]) -> None:
        """Withdraw the terms the item no longer has (after it was written without them)."""
        entry = await self.entries.find_one({"_id": item_id})
        if entry is not None and _terms_of(entry) - terms:
            await self._submit(_Change(Side(entry["side"]), item_id, entry["bucket"], set(),
                                       _terms_of(entry) - terms, terms))

    async def _submit(self, change: _Change) -> None:
        """Write the change with whatever else was submitted meanwhile, in one batch."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((change, done))
        async with self._writer:
            if not done.done():
                batch, self._pending = self._pending, []
                try:
                    await self._write([c for c, _ in batch])
                except BaseException as error:
                    for _, waiting in batch:
                        waiting.set_exception(error if isinstance(error, Exception) else RuntimeError(repr(error)))
                    if not isinstance(error, Exception):
                        raise
                else:
                    for _, waiting in batch:
                        waiting.set_result(None)
        await done

    async def _write(self, changes: list[_Change]) -> None:
        new_items = {c.item_id for c in changes if c.bucket is None}
        await self._place([c for c in changes if c.bucket is None])
        posted: dict[str, set[str]] = defaultdict(set)
        withdrawn: dict[str, set[str]] = defaultdict(set)
        new_heads: dict[str, set[int]] = defaultdict(set)
        for change in changes:
            assert change.bucket is not None
            for term in change.posts:
                posted[f"{change.side.value}:{term}:{change.bucket}"].add(change.item_id)
                if (change.side, term, change.bucket) not in self._posted_heads:
                    new_heads[f"{change.side.value}:{term}"].add(change.bucket)
        await self._add(self.heads, "buckets", new_heads, self._known_heads)
        if len(self._posted_heads) > POSTED_HEADS_REMEMBERED:
            self._posted_heads.clear()
        self._posted_heads |= {(Side(head.split(":", 1)[0]), head.split(":", 1)[1], b)
                               for head, buckets in new_heads.items() for b in buckets}
        await self._add(self.postings, "ids", posted, self._known_postings)
        there = await insert_new(self.entries, [self._entry(c) for c in changes if c.item_id in new_items])
        await bulk_write_chunked(self.entries, [self._entry_update(c) for c in changes
                                                if c.posts and (c.item_id not in new_items or c.item_id in there)])
        for change in changes:
            for term in change.withdraws:
                withdrawn[f"{change.side.value}:{term}:{change.bucket}"].add(change.item_id)
        await bulk_write_chunked(self.postings, [
            UpdateOne({"_id": posting}, {"$pull": {"ids": {"$in": sorted(ids)}}})
            for posting, ids in withdrawn.items()])
        await bulk_write_chunked(self.entries, [self._entry_update(c) for c in changes if c.withdraws])

    @staticmethod
    async def _add(collection: AsyncCollection[dict[str, Any]], field: str, additions: dict[str, set[Any]],
                   known: set[str]) -> None:
        """Add values to the array ``field`` of documents by ``_id``: those not known to exist are
        inserted (cheaper), the rest and those found there already updated."""
        there = await insert_new(collection, [{"_id": i, field: sorted(v)} for i, v in additions.items()
                                              if i not in known])
        await bulk_write_chunked(collection, [
            UpdateOne({"_id": i}, {"$addToSet": {field: {"$each": sorted(v)}}}, upsert=True)
            for i, v in additions.items() if i in known or i in there])
        if len(known) > KNOWN_REMEMBERED:
            known.clear()
        known.update(additions)

    @staticmethod
    def _entry(change: _Change) -> dict[str, Any]:
        return {"_id": change.item_id, "side": change.side.value, "bucket": change.bucket,
                "terms": _terms_text(change.terms)}

    @staticmethod
    def _entry_update(change: _Change) -> UpdateOne:
        return UpdateOne({"_id": change.item_id}, {"$set": {
            "side": change.side.value, "bucket": change.bucket, "terms": _terms_text(change.terms)}}, upsert=True)

    async def _place(self, changes: list[_Change]) -> None:
        """Give new items their buckets, counting on from the side's counter (stored first, so a
        bucket is never given out twice)."""
        for change in changes:
            placed = await self.placed(change.side)
            change.bucket = placed // BUCKET_SIZE
            self._placed[change.side] = placed + 1
        await bulk_write_chunked(self.counters, [
            UpdateOne({"_id": side.value}, {"$set": {"items": self._placed[side]}}, upsert=True)
            for side in {c.side for c in changes}])

    async def placed(self, side: Side) -> int:
        """How many items of the side have a bucket."""
        if side not in self._placed:
            counter = await self.counters.find_one({"_id": side.value})
            self._placed.setdefault(side, 0 if counter is None else counter["items"])
        return self._placed[side]

    async def newest_bucket(self, side: Side) -> int:
        return max(await self.placed(side) - 1, 0) // BUCKET_SIZE

    # reads

    async def buckets(self, side: Side, terms: list[str], start: Position | None) -> list[int]:
        """The buckets holding every term, newest first, from the start's down."""
        heads = await find_by_ids(self.heads, [f"{side.value}:{term}" for term in terms], {"buckets": 1})
        return shared_buckets([h["buckets"] for h in heads], start) if len(heads) == len(terms) else []

    async def posted(self, side: Side, terms: list[str], bucket: int) -> list[str]:
        """The ids posted under every term in the bucket, newest first."""
        postings = await find_by_ids(self.postings, [f"{side.value}:{term}:{bucket}" for term in terms])
        return intersect([p["ids"] for p in postings]) if len(postings) == len(terms) else []

    async def count(self, side: Side, term: str) -> int:
        """How many items are posted under ``term``: its head, then its postings, all by ``_id``,
        no item read (the postings hold at least the items that have the term: an item whose write
        failed after its terms were posted is counted too)."""
        head = await self.heads.find_one({"_id": f"{side.value}:{term}"}, {"buckets": 1})
        if head is None:
            return 0
        postings = await find_by_ids(self.postings, [f"{side.value}:{term}:{b}" for b in head["buckets"]])
        return sum(len(set(p["ids"])) for p in postings)

    # building

    async def clear(self) -> None:
        """Remove the whole index (before it is built again: a build stopped midway is redone)."""
        for collection in (self.heads, self.postings, self.entries, self.counters):
            await collection.delete_many({})
        self._placed.clear()
        self._posted_heads.clear()
        self._known_heads.clear()
        self._known_postings.clear()

    async def build(self, side: Side, items: AsyncIterable[tuple[str, set[str]]]) -> int:
        """Index a side's items, given oldest first, into a cleared index with ``insert_many``;
        how many."""
        placed, bucket_items = 0, []
        heads: dict[str, list[int]] = defaultdict(list)
        async for item in items:
            bucket_items.append(item)
            if len(bucket_items) == BUCKET_SIZE:
                await self._load_bucket(side, placed // BUCKET_SIZE, bucket_items, heads)
                placed, bucket_items = placed + len(bucket_items), []
        if bucket_items:
            await self._load_bucket(side, placed // BUCKET_SIZE, bucket_items, heads)
            placed += len(bucket_items)
        await self._insert(self.heads, [{"_id": f"{side.value}:{term}", "buckets": buckets}
                                        for term, buckets in heads.items()])
        await self.counters.insert_one({"_id": side.value, "items": placed})
        self._placed[side] = placed
        return placed

    async def _load_bucket(self, side: Side, bucket: int, items: list[tuple[str, set[str]]],
                           heads: dict[str, list[int]]) -> None:
        postings: dict[str, list[str]] = defaultdict(list)
        for item_id, terms in items:
            for term in terms:
                postings[term].append(item_id)
        for term in postings:
            heads[term].append(bucket)
        await self._insert(self.postings, [{"_id": f"{side.value}:{term}:{bucket}", "ids": ids}
                                           for term, ids in postings.items()])
        await self._insert(self.entries, [{"_id": item_id, "side": side.value, "bucket": bucket,
                                           "terms": _terms_text(terms)} for item_id, terms in items])

    @staticmethod
    async def _insert(collection: AsyncCollection[dict[str, Any]], documents: list[dict[str, Any]]) -> None:
        for start in range(0, len(documents), LOAD_CHUNK):
            await collection.insert_many(documents[start:start + LOAD_CHUNK], ordered=False)
