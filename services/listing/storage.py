"""MongoDB adapter: participants, listings and demands, each document carrying its own outbox.

An entity's state and the event announcing it are written in one update of one document (the
transactional outbox of ``shared.outbox``); updates are guarded by the entity's version, so two
concurrent writers never lose each other's change or emit snapshots out of order. Every update
holds the document's lock, shared with the relay, because FerretDB v1 does not apply a single
update atomically (see ``shared.locks``): one listing process per database. Ids carry their
entity's prefix (``p_``, ``l_``, ``d_``), so one lock table serves all three collections.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from services.listing.domain.items import ItemQuery, search_terms
from shared import outbox, regions, taxonomy
from shared.events.listing import ItemData, ItemStatus, ParticipantData
from shared.locks import KeyedLocks
from shared.mongo import ensure_indexes
from shared.party_types import Side

API_KEY_HASH = "api_key_hash"
# Derived, searchable copies of an item's text, fields and region: never part of its snapshot.
TERMS, FIELD_INDEX, REGION_INDEX = "terms", "field_index", "region_index"
# The terms are kept as one space-separated string, not an array: FerretDB v1 stores a type
# entry for every array element and parses it all on every read and update, which made an item's
# update about 40% dearer. A term never contains a space (shared.text).
_TERM_SEPARATOR = " "
_TERMS_AS_TEXT = "terms-as-text"
INTERNAL = (API_KEY_HASH, TERMS, FIELD_INDEX, REGION_INDEX, outbox.OUTBOX, outbox.PENDING)


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

    def collection_of(self, entity: ItemData | ParticipantData) -> AsyncCollection:
        return self.items[entity.side] if isinstance(entity, ItemData) else self.participants

    @property
    def collections(self) -> list[AsyncCollection]:
        """Every collection whose documents carry an outbox."""
        return [self.participants, *self.items.values()]

    async def ensure_indexes(self) -> None:
        await ensure_indexes(self.participants, IndexModel([(API_KEY_HASH, ASCENDING)], unique=True))
        for collection in self.items.values():
            await ensure_indexes(collection, IndexModel([("status", ASCENDING), ("_id", DESCENDING)]),
                                 IndexModel([("owner_id", ASCENDING), ("_id", DESCENDING)]),
                                 IndexModel([("expires_at", ASCENDING)]))

    async def upgrade(self) -> int:
        """Rewrite items stored by earlier versions, whose terms were an array; how many. Runs
        once per database (a scan reads every item on FerretDB v1); a crash midway repeats it."""
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

    async def add_participant(self, participant: ParticipantData, api_key_hash: str,
                              event: dict[str, Any]) -> None:
        document = {**_document(participant), API_KEY_HASH: api_key_hash}
        await self.participants.insert_one(outbox.with_outbox(document, event))

    async def participant(self, participant_id: str) -> ParticipantData | None:
        document = await self.participants.find_one({"_id": participant_id})
        return None if document is None else ParticipantData.model_validate(_entity(document))

    async def participant_by_key_hash(self, api_key_hash: str) -> ParticipantData | None:
        document = await self.participants.find_one({API_KEY_HASH: api_key_hash})
        return None if document is None else ParticipantData.model_validate(_entity(document))

    async def replace_participant(self, participant: ParticipantData, event: dict[str, Any]) -> bool:
        """Store the next version; False when someone else changed it first."""
        fields = {k: v for k, v in _document(participant).items() if k != "_id"}
        return await self._update(self.participants, {"_id": participant.id, "version": participant.version - 1},
                                  outbox.merge_update({"$set": fields}, event))

    async def set_api_key_hash(self, participant_id: str, api_key_hash: str) -> None:
        await self._update(self.participants, {"_id": participant_id}, {"$set": {API_KEY_HASH: api_key_hash}})

    # listings and demands

    async def add_item(self, item: ItemData, event: dict[str, Any]) -> None:
        await self.items[item.side].insert_one(outbox.with_outbox(_item_document(item), event))

    async def item(self, side: Side, item_id: str) -> ItemData | None:
        document = await self.items[side].find_one({"_id": item_id})
        return None if document is None else ItemData.model_validate(_entity(document))

    async def replace_item(self, item: ItemData, event: dict[str, Any]) -> bool:
        """Store the next version; False when someone else changed it first."""
        fields = {k: v for k, v in _item_document(item).items() if k != "_id"}
        return await self._update(self.items[item.side], {"_id": item.id, "version": item.version - 1},
                                  outbox.merge_update({"$set": fields}, event))

    async def _update(self, collection: AsyncCollection, selector: dict[str, Any], update: dict[str, Any]) -> bool:
        async with self.locks.hold(selector["_id"]):
            result = await collection.update_one(selector, update)
        return result.matched_count == 1

    async def find_items(self, side: Side, query: ItemQuery, *, before: str | None, limit: int) -> list[ItemData]:
        """Newest first; ``before`` is the id of the last item of the previous page."""
        selector = _selector(query)
        if before is not None:
            selector["_id"] = {"$lt": before}
        cursor = self.items[side].find(selector).sort("_id", DESCENDING).limit(limit)
        return [ItemData.model_validate(_entity(document)) async for document in cursor]

    async def due_items(self, side: Side, at: datetime, *, limit: int) -> list[ItemData]:
        """Draft or open items whose expiry has passed."""
        cursor = self.items[side].find({"status": {"$in": [ItemStatus.DRAFT.value, ItemStatus.OPEN.value]},
                                        "expires_at": {"$lte": at}}).limit(limit)
        return [ItemData.model_validate(_entity(document)) async for document in cursor]


def _selector(query: ItemQuery) -> dict[str, Any]:
    selector: dict[str, Any] = {}
    status = query.effective_status()
    if status is not None:
        selector["status"] = status.value
    if query.owner_only():
        selector["owner_id"] = query.subject
    if query.kind is not None:
        selector["kind"] = query.kind.value
    if query.party_type is not None:
        selector["owner_party_type"] = query.party_type.value
    if query.field is not None:
        selector[FIELD_INDEX] = query.field
    if query.region is not None:
        selector[REGION_INDEX] = query.region
    if query.terms:
        selector["$and"] = [{TERMS: {"$regex": _whole_term(term)}} for term in query.terms]
    return selector


def _whole_term(term: str) -> str:
    """A pattern for ``term`` as a whole word of the stored terms string."""
    return re.escape(_TERM_SEPARATOR + term + _TERM_SEPARATOR)
