"""MongoDB adapter: participants, listings and demands, each document carrying its own outbox.

An entity's state and the event announcing it are written in one update of one document (the
transactional outbox of ``shared.outbox``); updates are guarded by the entity's version, so two
concurrent writers never lose each other's change or emit snapshots out of order. Every update
holds the document's lock, shared with the relay and held across processes (replicas), because
FerretDB v1 does not apply a single update atomically (see ``shared.locks``). Ids carry their
entity's prefix (``p_``, ``l_``, ``d_``), so one lock table serves all three collections.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from collections.abc import AsyncIterator, Callable
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from services.listing.domain import search
from services.listing.domain.items import ItemQuery, search_terms
from services.listing.domain.search import BUCKET_BUDGET, Position
from services.listing.search_index import SearchIndex
from shared import outbox, regions, taxonomy
from shared.events.listing import ItemData, ItemStatus, ParticipantData
from shared.locks import KeyedLocks
from shared.mongo import ensure_indexes, find_by_ids
from shared.party_types import Side

# Earlier versions kept one unsalted SHA-256 of the key on the participant (upgraded once).
LEGACY_API_KEY_HASH = "api_key_hash"
# The digests of a participant's API keys, so that all of them can be revoked by _id.
API_KEY_DIGESTS = "api_key_digests"
# Derived, searchable copies of an item's text, fields and region: never part of its snapshot.
TERMS, FIELD_INDEX, REGION_INDEX = "terms", "field_index", "region_index"
# The terms are kept as one space-separated string, not an array: FerretDB v1 stores a type
# entry for every array element and parses it all on every read and update, which made an item's
# update about 40% dearer. A term never contains a space (shared.text).
_TERM_SEPARATOR = " "
_TERMS_AS_TEXT = "terms-as-text"
_KEYS_AS_DIGESTS = "api-keys-as-digests"
_SEARCH_INDEX = "search-index"
_UPGRADES_LOCK = "upgrades"
# What an item's index terms are made of (``_index_terms``): all the index build reads of it.
_INDEXED = dict.fromkeys(("status", "kind", "owner_party_type", "owner_id", TERMS, FIELD_INDEX, REGION_INDEX), 1)
INTERNAL = (LEGACY_API_KEY_HASH, API_KEY_DIGESTS, TERMS, FIELD_INDEX, REGION_INDEX, outbox.OUTBOX, outbox.PENDING)


def _document(entity: ParticipantData | ItemData) -> dict[str, Any]:
    document = entity.model_dump(exclude={"id"})
    document["_id"] = entity.id
    return document


def _item_document(item: ItemData) -> dict[str, Any]:
    document = _document(item)
    document[TERMS] = _terms_text(search_terms(item))
    document[FIELD_INDEX] = sorted({*item.fields, *(taxonomy.top_level(code) for code in item.fields)})
    document[REGION_INDEX] = [] if item.region is None else sorted({item.region, regions.province_of(item.region)})
    return document


def _terms_text(terms: list[str]) -> str:
    return _TERM_SEPARATOR + _TERM_SEPARATOR.join(terms) + _TERM_SEPARATOR


def _index_terms(document: dict[str, Any]) -> set[str]:
    """The search index's terms of a stored item, from its stored fields and derived copies."""
    return search.item_terms(status=document["status"], kind=document["kind"],
                             party_type=document["owner_party_type"], owner_id=document["owner_id"],
                             field_index=document.get(FIELD_INDEX, []), region_index=document.get(REGION_INDEX, []),
                             text_terms=document.get(TERMS, "").split())


def _entity(document: dict[str, Any]) -> dict[str, Any]:
    values = {k: v for k, v in document.items() if k not in INTERNAL and k != "_id"}
    values["id"] = document["_id"]
    return values


class ListingStore:
    def __init__(self, db: AsyncDatabase, locks: KeyedLocks):
        self.locks = locks
        self.participants: AsyncCollection = db["participants"]
        self.items: dict[Side, AsyncCollection] = {Side.OFFER: db["listings"], Side.NEED: db["demands"]}
        self.upgrades: AsyncCollection = db["upgrades"]  # one document per upgrade done
        # One document per API key, by its digest: a token request is one _id lookup.
        self.api_keys: AsyncCollection = db["api_keys"]
        self.search = SearchIndex(db)

    def collection_of(self, entity: ItemData | ParticipantData) -> AsyncCollection:
        return self.items[entity.side] if isinstance(entity, ItemData) else self.participants

    @property
    def collections(self) -> list[AsyncCollection]:
        """Every collection whose documents carry an outbox."""
        return [self.participants, *self.items.values()]

    async def ensure_indexes(self) -> None:
        for collection in self.items.values():
            await ensure_indexes(collection, IndexModel([("status", ASCENDING), ("_id", DESCENDING)]),
                                 IndexModel([("owner_id", ASCENDING), ("_id", DESCENDING)]),
                                 IndexModel([("expires_at", ASCENDING)]))

    async def upgrade(self, digest_of: Callable[[str], str]) -> int:
        """Rewrite what earlier versions stored; how many documents. Each upgrade runs once per
        database (a scan reads every document on FerretDB v1); a crash midway repeats it. Replicas
        starting together take turns: the second finds the upgrades done."""
        async with self.locks.hold(_UPGRADES_LOCK):
            return (await self._upgrade_terms() + await self._upgrade_api_keys(digest_of)
                    + await self._upgrade_search_index())

    async def _upgrade_search_index(self) -> int:
        """Items stored before the search index existed are indexed, oldest first."""
        if await self.upgrades.find_one({"_id": _SEARCH_INDEX}) is not None:
            return 0
        await self.search.clear()
        indexed = 0
        for side, collection in self.items.items():
            indexed += await self.search.build(side, self._indexable(collection))
        await self.upgrades.update_one({"_id": _SEARCH_INDEX}, {"$set": {"items": indexed}}, upsert=True)
        return indexed

    @staticmethod
    async def _indexable(collection: AsyncCollection) -> AsyncIterator[tuple[str, set[str]]]:
        """Every item's id and index terms, oldest (lowest id) first: read in the store's order, only
        what the terms are made of, and sorted here (FerretDB v1 sorts a scan of 10,000 offers in
        about twice the time of the scan itself: 72 s against 38 s on a loaded machine, 2026-12-07)."""
        found = [(document["_id"], _index_terms(document)) async for document in collection.find({}, _INDEXED)]
        for item in sorted(found, key=lambda item: item[0]):
            yield item

    async def _upgrade_api_keys(self, digest_of: Callable[[str], str]) -> int:
        """Participants' SHA-256 key hashes become API key documents keyed by their HMAC digest."""
        if await self.upgrades.find_one({"_id": _KEYS_AS_DIGESTS}) is not None:
            return 0
        if f"{LEGACY_API_KEY_HASH}_1" in await self.participants.index_information():
            await self.participants.drop_index(f"{LEGACY_API_KEY_HASH}_1")
        upgraded = 0
        async for document in self.participants.find({LEGACY_API_KEY_HASH: {"$exists": True}},
                                                      {LEGACY_API_KEY_HASH: 1}):
            digest = digest_of(document[LEGACY_API_KEY_HASH])
            await self.api_keys.update_one({"_id": digest}, {"$setOnInsert": {
                "participant_id": document["_id"], "valid_until": None}}, upsert=True)
            await self._update(self.participants, {"_id": document["_id"]},
                               {"$set": {API_KEY_DIGESTS: [digest]}, "$unset": {LEGACY_API_KEY_HASH: ""}})
            upgraded += 1
        await self.upgrades.update_one({"_id": _KEYS_AS_DIGESTS}, {"$set": {"participants": upgraded}}, upsert=True)
        return upgraded

    async def _upgrade_terms(self) -> int:
        """Items whose terms were an array get them as one string."""
        if await self.upgrades.find_one({"_id": _TERMS_AS_TEXT}) is not None:
            return 0
        upgraded = 0
        for collection in self.items.values():
            async for document in collection.find({TERMS: {"$type": "array"}}, {TERMS: 1}):
                await self._update(collection, {"_id": document["_id"]},
                                   {"$set": {TERMS: _terms_text(document[TERMS])}})
                upgraded += 1
        await self.upgrades.update_one({"_id": _TERMS_AS_TEXT}, {"$set": {"items": upgraded}}, upsert=True)
        return upgraded

    # participants

    async def add_participant(self, participant: ParticipantData, key_digest: str, event: dict[str, Any]) -> None:
        """The participant first, then its key: a crash between the two leaves a participant
        without a usable key, never a key without its participant."""
        document = {**_document(participant), API_KEY_DIGESTS: [key_digest]}
        await self.participants.insert_one(outbox.with_outbox(document, event))
        await self.api_keys.insert_one({"_id": key_digest, "participant_id": participant.id, "valid_until": None})

    async def participant(self, participant_id: str) -> ParticipantData | None:
        document = await self.participants.find_one({"_id": participant_id})
        return None if document is None else ParticipantData.model_validate(_entity(document))

    async def participants_by_id(self, participant_ids: list[str]) -> list[ParticipantData]:
        """Participants by id, in that order, leaving out the unknown: one ``_id`` lookup each, sent
        together (the store answers no other filter from an index)."""
        found = await asyncio.gather(*(self.participant(i) for i in participant_ids))
        return [p for p in found if p is not None]

    async def key_owner(self, key_digest: str, at: datetime) -> str | None:
        """The participant a key belongs to, while the key is valid at ``at``."""
        document = await self.api_keys.find_one({"_id": key_digest})
        if document is None or (document.get("valid_until") is not None and document["valid_until"] <= at):
            return None
        return document["participant_id"]

    async def replace_participant(self, participant: ParticipantData, event: dict[str, Any]) -> bool:
        """Store the next version; False when someone else changed it first."""
        fields = {k: v for k, v in _document(participant).items() if k != "_id"}
        return await self._update(self.participants, {"_id": participant.id, "version": participant.version - 1},
                                  outbox.merge_update({"$set": fields}, event))

    async def rotate_key(self, participant_id: str, new_digest: str, at: datetime, old_valid_until: datetime) -> None:
        """Add a key and let the participant's other keys end at ``old_valid_until``. The new
        digest is listed on the participant before its key exists, so a revocation always finds
        it; keys already ended by ``at`` leave the list."""
        live = [d for d in await self.key_digests(participant_id)
                if await self.key_owner(d, at) is not None]
        await self._update(self.participants, {"_id": participant_id}, {"$set": {API_KEY_DIGESTS: [*live, new_digest]}})
        await self.api_keys.insert_one({"_id": new_digest, "participant_id": participant_id, "valid_until": None})
        for digest in live:
            await self.api_keys.update_one({"_id": digest, "valid_until": None},
                                           {"$set": {"valid_until": old_valid_until}})

    async def revoke_keys(self, participant_id: str) -> int:
        """Delete every API key of the participant; how many there were."""
        digests = await self.key_digests(participant_id)
        if digests:
            await self.api_keys.delete_many({"_id": {"$in": digests}})
        await self._update(self.participants, {"_id": participant_id}, {"$set": {API_KEY_DIGESTS: []}})
        return len(digests)

    async def key_digests(self, participant_id: str) -> list[str]:
        document = await self.participants.find_one({"_id": participant_id}, {API_KEY_DIGESTS: 1})
        return [] if document is None else list(document.get(API_KEY_DIGESTS, []))

    # listings and demands

    async def add_item(self, item: ItemData, event: dict[str, Any]) -> None:
        document = _item_document(item)
        async with self.search.changing(item.id):
            await self.search.post(item.side, item.id, _index_terms(document))
            await self.items[item.side].insert_one(outbox.with_outbox(document, event))

    async def item(self, side: Side, item_id: str) -> ItemData | None:
        document = await self.items[side].find_one({"_id": item_id})
        return None if document is None else ItemData.model_validate(_entity(document))

    async def replace_item(self, item: ItemData, event: dict[str, Any]) -> bool:
        """Store the next version; False when someone else changed it first."""
        document = _item_document(item)
        terms = _index_terms(document)
        fields = {k: v for k, v in document.items() if k != "_id"}
        async with self.search.changing(item.id):
            await self.search.post(item.side, item.id, terms)
            replaced = await self._update(self.items[item.side], {"_id": item.id, "version": item.version - 1},
                                          outbox.merge_update({"$set": fields}, event))
            if replaced:
                await self.search.withdraw(item.id, terms)
        return replaced

    async def _update(self, collection: AsyncCollection, selector: dict[str, Any], update: dict[str, Any]) -> bool:
        async with self.locks.hold(selector["_id"]):
            result = await collection.update_one(selector, update)
        return result.matched_count == 1

    async def find_items(self, side: Side, query: ItemQuery, *, start: Position | None,
                         limit: int) -> tuple[list[ItemData], Position | None]:
        """A page of the search, newest first, from ``start``, and where the next page starts
        (None at the end). It reads at most ``BUCKET_BUDGET`` buckets of the index: then the page
        may be short, with a position to go on from."""
        terms = search.query_terms(query)
        found: list[ItemData] = []
        buckets = await self.search.buckets(side, terms, start)
        for read, bucket in enumerate(buckets):
            if read == BUCKET_BUDGET:
                return found, Position(bucket)
            ids = [i for i in await self.search.posted(side, terms, bucket) if start is None or start.admits(bucket, i)]
            while ids:
                wanted, ids = ids[:limit - len(found)], ids[limit - len(found):]
                documents = {d["_id"]: d for d in await find_by_ids(self.items[side], wanted, {outbox.OUTBOX: 0})}
                for item_id in wanted:
                    document = documents.get(item_id)
                    if document is not None and set(terms) <= _index_terms(document):
                        found.append(ItemData.model_validate(_entity(document)))
                if len(found) == limit:
                    more = bool(ids) or read + 1 < len(buckets)
                    return found, Position(bucket, found[-1].id) if more else None
        return found, None

    async def owned_counts(self, owner_id: str) -> dict[Side, int]:
        """How many offers and needs the participant has, in any status, from the search index's
        postings of their owner term (no item read)."""
        counts = await asyncio.gather(*(self.search.count(side, search.owner_term(owner_id)) for side in Side))
        return dict(zip(Side, counts, strict=True))

    async def expiring(self, side: Side) -> list[tuple[datetime, str]]:
        """Every draft or open item's expiry and id: read once, when the service starts (a scan)."""
        cursor = self.items[side].find({"status": {"$in": [ItemStatus.DRAFT.value, ItemStatus.OPEN.value]},
                                        "expires_at": {"$ne": None}}, {"expires_at": 1})
        return [(document["expires_at"], document["_id"]) async for document in cursor]
