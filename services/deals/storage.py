"""MongoDB adapter: one document per deal (with its outbox), the local records of matches, of the
items' fields and regions, of sessions' hosts and titles, of participants' names, of who checked in
where and whom an agenda put them with, each participant's numbered list of deals, and the funnel's
counter documents. Every read a person waits on is a bounded number of lookups by ``_id``.

Deals are written holding the deal's lock and compare-and-set on its ``version`` (FerretDB v1
loses one of two overlapping updates of a document; the version keeps several processes right on
MongoDB). Matches, items and counters are written by the service's consumer, one event at a time;
its replicas share the partitions, and one match's or counter's events come from several, so a
match's and a counter's writes hold its lock too (held across processes, see shared/locks.py).
A funnel step is counted exactly once per match however often its event comes: each counter
document remembers the last step applied to it (``last_mark``), and a mark document (unique
``_id``) records the step once every counter has it; a crash between the two re-applies only to
the counters that lack it.

A participant's deals are numbered entries (``_id`` ``<participant>#<number>``, the latest listed the highest)
with a head document holding the highest number written: a page is the head, then one lookup per
entry and per deal. The consumer lists a deal from its ``deal.opened`` event, so one writer lists a
given deal (its partition's). A number is taken by inserting its entry (unique ``_id``: two writers,
listing two deals of one participant, never take one number), so numbers have no gaps. Then a mark
(``<participant>><deal id>``) records that the deal is listed, then the head is raised with ``$max``
(it may lag by the writes in flight; readers look past it). An entry written before a crash is past
the head without its mark: listing the deal again finds it there instead of taking a new number."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from shared import outbox, topics
from shared.events import new_event
from shared.events.deals import ConversionPriorData
from shared.events.common import LocalizedText
from shared.events.listing import ParticipantData
from shared.mongo import find_by_ids, keep_newest
from shared.events.listing import ItemData
from shared.locks import KeyedLocks
from shared.domain_errors import Conflict, NotFound
from services.deals.domain.funnel import FunnelCounts, Increment
from services.deals.domain.model import Deal, MatchSideRecord
from services.deals.events import SOURCE, outbox_entries

T = TypeVar("T")
MAX_ATTEMPTS = 20


def _document(deal: Deal) -> dict[str, Any]:
    document = deal.model_dump(mode="json", exclude={"id"})
    document["_id"] = deal.id
    return document


def to_deal(document: dict[str, Any]) -> Deal:
    return Deal.model_validate({**document, "id": document["_id"]})


def _entry_id(participant_id: str, number: int) -> str:
    return f"{participant_id}#{number:010d}"


class DealStore:
    def __init__(self, db: AsyncDatabase, locks: KeyedLocks):
        self.deals = db["deals"]
        self.matches = db["matches"]
        self.items = db["items"]
        self.sessions = db["sessions"]
        self.funnel = db["funnel"]
        self.marks = db["funnel_marks"]
        self.priors = db["conversion_priors"]
        self.names = db["participants"]
        self.checkins = db["checkins"]
        self.meetings = db["session_meetings"]
        self.listed = db["participant_deals"]
        self.listed_heads = db["participant_deal_heads"]
        self.listed_marks = db["participant_deal_marks"]
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
        await keep_newest(self.items, item.id, item.version, {"fields": item.fields, "region": item.region})

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

    async def save_session(self, session_id: str, organiser_id: str, title: LocalizedText) -> None:
        await self.sessions.update_one({"_id": session_id}, {"$set": {"organiser_id": organiser_id,
                                                                      "title": title.model_dump()}}, upsert=True)

    async def session_host(self, session_id: str) -> str | None:
        document = await self.sessions.find_one({"_id": session_id})
        return None if document is None else document["organiser_id"]

    async def session_titles(self, session_ids: list[str]) -> dict[str, LocalizedText]:
        return {d["_id"]: LocalizedText.model_validate(d["title"])
                for d in await find_by_ids(self.sessions, session_ids) if d.get("title")}

    async def save_participant(self, participant: ParticipantData) -> None:
        """Keep the newest name and organisation of a participant (for lists people read)."""
        await keep_newest(self.names, participant.id, participant.version,
                          {"display_name": participant.display_name.model_dump(),
                           "organisation": participant.organisation.model_dump()})

    async def participant_names(self, participant_ids: list[str]) -> dict[str, dict[str, Any]]:
        return {d["_id"]: d for d in await find_by_ids(self.names, participant_ids)}

    # check-ins and the meetings agendas scheduled

    async def check_in(self, session_id: str, participant_id: str) -> None:
        try:
            await self.checkins.insert_one({"_id": f"{session_id}|{participant_id}"})
        except DuplicateKeyError:
            pass  # a check-in delivered again

    async def checked_in(self, session_id: str, participant_ids: list[str]) -> bool:
        """Whether every one of them checked in at the session."""
        found = await find_by_ids(self.checkins, [f"{session_id}|{p}" for p in participant_ids], {"_id": 1})
        return len(found) == len(set(participant_ids))

    async def set_meetings(self, session_id: str, participant_id: str, match_ids: list[str]) -> None:
        """The matches the session's agenda (its latest version) puts the participant in meetings on
        (one writer: the agendas topic's partition of the session)."""
        await self.meetings.update_one({"_id": f"{session_id}|{participant_id}"},
                                       {"$set": {"match_ids": sorted(match_ids)}}, upsert=True)

    async def meetings_of(self, session_id: str, participant_id: str) -> list[str]:
        """The matches the participant's meetings at the session are on."""
        document = await self.meetings.find_one({"_id": f"{session_id}|{participant_id}"})
        return sorted(document["match_ids"]) if document else []

    # each participant's deals

    async def list_deal(self, participant_id: str, deal_id: str) -> None:
        """Add the deal to the participant's list once (numbered after the newest)."""
        mark = f"{participant_id}>{deal_id}"
        if await self.listed_marks.find_one({"_id": mark}) is not None:
            return
        head = await self._head(participant_id)
        number = head + 1
        while True:  # past the head: entries in flight, or this deal's own entry from before a crash
            entry = await self.listed.find_one({"_id": _entry_id(participant_id, number)})
            if entry is not None and entry["deal_id"] == deal_id:
                break
            if entry is None:
                try:
                    await self.listed.insert_one({"_id": _entry_id(participant_id, number), "deal_id": deal_id})
                    break
                except DuplicateKeyError:
                    pass  # another deal of the participant took this number
            number += 1
        try:
            await self.listed_marks.insert_one({"_id": mark})
        except DuplicateKeyError:
            pass  # a rebalance let another consumer list it too; the reader folds the two entries
        await self._raise_head(participant_id, number)

    async def _raise_head(self, participant_id: str, number: int) -> None:
        try:
            await self.listed_heads.update_one({"_id": participant_id}, {"$max": {"last": number}}, upsert=True)
        except DuplicateKeyError:  # two first writers: the other's upsert won, raise it
            await self.listed_heads.update_one({"_id": participant_id}, {"$max": {"last": number}})

    async def _head(self, participant_id: str) -> int:
        head = await self.listed_heads.find_one({"_id": participant_id})
        return head["last"] if head else 0

    async def last_listed(self, participant_id: str) -> int:
        """The highest number of the participant's entries: the head's, then past it while entries exist."""
        last = lagged = await self._head(participant_id)
        while await self.listed.find_one({"_id": _entry_id(participant_id, last + 1)}, {"_id": 1}) is not None:
            last += 1
        if last != lagged:
            await self._raise_head(participant_id, last)
        return last

    async def listed_deals(self, participant_id: str, numbers: list[int]) -> list[tuple[int, str]]:
        """The (number, deal id) of the entries with these numbers, highest first."""
        found = await find_by_ids(self.listed, [_entry_id(participant_id, n) for n in numbers])
        return sorted(((int(d["_id"].rsplit("#", 1)[1]), d["deal_id"]) for d in found), reverse=True)

    async def deals_by_ids(self, deal_ids: list[str]) -> dict[str, Deal]:
        found = await find_by_ids(self.deals, deal_ids, {outbox.OUTBOX: 0, outbox.PENDING: 0})
        return {d["_id"]: to_deal(d) for d in found}

    async def save_match(self, match_id: str, offer: MatchSideRecord, need: MatchSideRecord, *,
                         created_at: datetime, keys: list[str]) -> None:
        """Record a match the first time it is seen (its funnel keys fixed then). Acceptances and
        sessions that came first (topics are not ordered among themselves) are kept."""
        try:
            async with self.locks.hold(("match", match_id)):
                await self.matches.update_one(
                    {"_id": match_id, "keys": {"$exists": False}},
                    {"$set": {"offer": offer.model_dump(exclude_none=True), "need": need.model_dump(exclude_none=True),
                              "created_at": created_at, "keys": keys}}, upsert=True)
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

    # the outcome signal

    async def save_prior(self, key: str, make: Callable[[int], ConversionPriorData]) -> list[dict[str, Any]] | None:
        """Store the key's prior, made for the next version, with its event; the outbox entries
        staged, or None when the stored prior says the same already (a replay, another key's change)."""
        async with self.locks.hold(("prior", key)):
            for _ in range(MAX_ATTEMPTS):
                stored = await self.priors.find_one({"_id": key}, {outbox.OUTBOX: 0})
                version = stored["version"] if stored else 0
                data = make(version + 1)
                snapshot = data.model_dump(mode="json", exclude={"version"})
                if stored is not None and stored["snapshot"] == snapshot:
                    return None
                event_key = key.split(":", 1)[1]
                entries = [outbox.entry(new_event("conversion.prior_updated.v1", data, source=SOURCE,
                                                  subject=event_key), topics.CONVERSION_PRIORS, event_key)]
                fields = {"snapshot": snapshot, "version": version + 1}
                try:
                    if stored is None:
                        await self.priors.insert_one(outbox.with_outbox({"_id": key, **fields}, *entries))
                        return entries
                    result = await self.priors.update_one({"_id": key, "version": version},
                                                          outbox.merge_update({"$set": fields}, *entries))
                except DuplicateKeyError:
                    continue  # another process stored its first version
                if result.matched_count == 1:
                    return entries
        raise Conflict(f"the prior {key} is changing too fast / 转化先验更新冲突")
