"""MongoDB adapter: one document per deal (with its outbox), the local records of matches, of the
items' fields and regions and of sessions' hosts, and the funnel's counter documents. Every read a person waits on
is one lookup by ``_id``.

Deals are written holding the deal's lock and compare-and-set on its ``version`` (FerretDB v1
loses one of two overlapping updates of a document; the version keeps several processes right on
MongoDB). Matches, items and counters are written by the service's consumer, one event at a time;
its replicas share the partitions, and one match's or counter's events come from several, so a
match's and a counter's writes hold its lock too (held across processes, see shared/locks.py).
A funnel step is counted exactly once per match however often its event comes: each counter
document remembers the last step applied to it (``last_mark``), and a mark document (unique
``_id``) records the step once every counter has it; a crash between the two re-applies only to
the counters that lack it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from shared import outbox
from shared.events.listing import ItemData
from shared.locks import KeyedLocks
from shared.domain_errors import Conflict, NotFound
from services.deals.domain.funnel import FunnelCounts, Increment
from services.deals.domain.model import Deal, MatchSideRecord
from services.deals.events import outbox_entries

T = TypeVar("T")
MAX_ATTEMPTS = 20


def _document(deal: Deal) -> dict[str, Any]:
    document = deal.model_dump(mode="json", exclude={"id"})
    document["_id"] = deal.id
    return document


def to_deal(document: dict[str, Any]) -> Deal:
    return Deal.model_validate({**document, "id": document["_id"]})


class DealStore:
    def __init__(self, db: AsyncDatabase, locks: KeyedLocks):
        self.deals = db["deals"]
        self.matches = db["matches"]
        self.items = db["items"]
        self.sessions = db["sessions"]
        self.funnel = db["funnel"]
        self.marks = db["funnel_marks"]
        self.locks = locks

    # deals

    async def insert(self, deal: Deal, event_type: str, changed_by: str) -> list[dict[str, Any]] | None:
        """Store a new deal with its ``deal.opened`` event; the entries staged, or None when the
        match has a deal already."""
        entries = outbox_entries(deal.id, [(event_type, deal.data(changed_by))])
        try:
            await self.deals.insert_one(outbox.with_outbox(_document(deal), *entries))
        except DuplicateKeyError:
            return None
        return entries

    async def get(self, deal_id: str) -> Deal:
        document = await self.deals.find_one({"_id": deal_id}, {outbox.OUTBOX: 0, outbox.PENDING: 0})
        if document is None:
            raise NotFound(f"no deal {deal_id!r} / 交易不存在")
        return to_deal(document)

    async def mutate(self, deal_id: str, decide: Callable[[Deal], tuple[Deal, str]],
                     changed_by: str) -> tuple[Deal, str, list[dict[str, Any]]]:
        """Decide on the deal as stored and write the new deal with its event in one update; the
        deal after, the event's type and the outbox entries staged."""
        async with self.locks.hold(deal_id):
            for _ in range(MAX_ATTEMPTS):
                before = await self.get(deal_id)
                after, event_type = decide(before)
                entries = outbox_entries(deal_id, [(event_type, after.data(changed_by))])
                fields = _document(after)
                del fields["_id"]
                result = await self.deals.update_one({"_id": deal_id, "version": before.version},
                                                     outbox.merge_update({"$set": fields}, *entries))
                if result.matched_count == 1:
                    return after, event_type, entries
        raise Conflict("the deal is changing too fast, retry / 交易正忙，请重试")

    # what the consumer keeps: matches and items

    async def save_item(self, item: ItemData) -> None:
        """Keep the newest fields and region of an offer or a need."""
        try:
            await self.items.update_one({"_id": item.id, "version": {"$lt": item.version}},
                                        {"$set": {"fields": item.fields, "region": item.region,
                                                  "version": item.version}}, upsert=True)
        except DuplicateKeyError:
            pass  # a newer version is stored already

    async def item_facts(self, item_ids: list[str]) -> tuple[list[str], list[str]]:
        """The fields and regions of the items known."""
        fields: list[str] = []
        regions: list[str] = []
        for item_id in item_ids:
            document = await self.items.find_one({"_id": item_id})
            if document is not None:
                fields.extend(document["fields"])
                if document.get("region"):
                    regions.append(document["region"])
        return fields, regions

    async def save_session_host(self, session_id: str, organiser_id: str) -> None:
        await self.sessions.update_one({"_id": session_id}, {"$set": {"organiser_id": organiser_id}}, upsert=True)

    async def session_host(self, session_id: str) -> str | None:
        document = await self.sessions.find_one({"_id": session_id})
        return None if document is None else document["organiser_id"]

    async def save_match(self, match_id: str, offer: MatchSideRecord, need: MatchSideRecord, *,
                         created_at: datetime, keys: list[str]) -> None:
        """Record a match the first time it is seen (its funnel keys fixed then). Acceptances and
        sessions that came first (topics are not ordered among themselves) are kept."""
        try:
            async with self.locks.hold(("match", match_id)):
                await self.matches.update_one(
                    {"_id": match_id, "keys": {"$exists": False}},
                    {"$set": {"offer": offer.model_dump(), "need": need.model_dump(), "created_at": created_at,
                              "keys": keys}}, upsert=True)
        except DuplicateKeyError:
            pass  # recorded already

    async def match(self, match_id: str) -> dict[str, Any] | None:
        """The match as recorded; None unless its match event has come."""
        document = await self.matches.find_one({"_id": match_id})
        return document if document is not None and "keys" in document else None

    async def accept(self, match_id: str, participant_id: str) -> dict[str, Any] | None:
        """Record a party's acceptance; the match after it (None until its match event has come)."""
        async with self.locks.hold(("match", match_id)):
            document = await self.matches.find_one_and_update(
                {"_id": match_id}, {"$addToSet": {"accepted_by": participant_id}}, upsert=True,
                return_document=ReturnDocument.AFTER)
        return document if document is not None and "keys" in document else None

    async def add_session(self, match_id: str, session_id: str) -> dict[str, Any] | None:
        """Note that a session's agenda scheduled the match; the match after it (None until its match
        event has come)."""
        async with self.locks.hold(("match", match_id)):
            document = await self.matches.find_one_and_update(
                {"_id": match_id}, {"$addToSet": {"sessions": session_id}}, upsert=True,
                return_document=ReturnDocument.AFTER)
        return document if document is not None and "keys" in document else None

    # the funnel

    async def count(self, mark: str, keys: list[str], increment: Increment) -> bool:
        """Add ``increment`` to each key's counters once for ``mark``; True unless counted before."""
        if await self.marks.find_one({"_id": mark}, {"_id": 1}) is not None:
            return False
        inc = increment.as_inc()
        for key in keys:
            try:
                async with self.locks.hold(("funnel", key)):
                    await self.funnel.update_one({"_id": key, "last_mark": {"$ne": mark}},
                                                 {"$inc": inc, "$set": {"last_mark": mark}}, upsert=True)
            except DuplicateKeyError:
                pass  # this counter has it already (a crash came before the mark was written)
        try:
            await self.marks.insert_one({"_id": mark})
        except DuplicateKeyError:
            return False
        return True

    async def counts(self, key: str) -> FunnelCounts:
        return FunnelCounts.of(key, await self.funnel.find_one({"_id": key}))
