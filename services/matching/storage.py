"""MongoDB adapter of the matching service: the query API's read model of matches, consortia and
agendas (projected from the service's own output topics), and participants' feedback with its
outbox. Only operators that FerretDB v1 supports are used (``$or``, ``$ne`` on arrays,
``$addToSet``, upserts with ``$push``)."""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic_core import to_json
from pymongo import ASCENDING, DESCENDING, IndexModel, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from shared import outbox, topics
from shared.events import CloudEvent, new_event
from shared.events.matching import (
    AgendaData,
    ConsortiumData,
    ConsortiumRetractedData,
    MatchData,
    MatchFeedbackData,
    MatchRetractedData,
)
from shared.locks import KeyedLocks
from shared.mongo import PACKED, bulk_write_chunked, ensure_indexes, find_by_ids, insert_new, unpack

MATCHES = "matches"
CONSORTIA = "consortia"
# Per participant, one document listing their matches (consortia) with what the API filters and
# sorts on: FerretDB v1 answers only ``_id`` look-ups from an index, so a participant's page is
# this document plus the page's documents by ``_id``, however many matches there are.
MATCHES_BY_PARTICIPANT = "matches_by_participant"
CONSORTIA_BY_PARTICIPANT = "consortia_by_participant"
# A listing is one JSON text, ``listing``: ``{id: {id, kind, score, status, hidden, member}}``, what
# a page filters and sorts on; the page's matches (consortia) are then read by ``_id``. FerretDB v1
# decodes a document element by element on every read: the layout before (``entries``, a
# sub-document per match holding a copy of it) took 1.4-2.1 s to read at 1,000 matches, the same
# entries as one text ~20-70 ms (measured 2026-12-07, bench/results/read_pages.md).
LISTING = "listing"
ENTRIES = "entries"  # the layout before: folded into the text by the next write of the listing
SUMMARY = frozenset({"id", "kind", "score", "status", "hidden", "member", "stamp"})
# A document's ``stamp`` is the id of the last event that set its fields, and its listing entries
# carry the same: the query API keeps the documents it read (``_Read``) and reads one again only when
# its entry's stamp differs. A page of matches was then the listing alone once read (20 look-ups a
# page otherwise, ~35 ms of a 50 ms page on the demo's data at 2026-12-07 23:33, bench/results/web_pages.md).
KEPT_DOCUMENTS = 2048
AGENDAS = "agendas"
FEEDBACK = "feedback"
# A match's or consortium's event data is stored packed (shared.mongo.pack): read whole, and most
# of the document's elements, which FerretDB v1 decodes one by one on every read.
DATA = ("data",)
DATA_TEXT = "data" + PACKED
HAS_DATA: dict[str, Any] = {"$or": [{name: {"$exists": True}} for name in (*DATA, DATA_TEXT)]}
# One document per stream worker process (``worker.py``): its state, written every second.
WORKERS = "workers"

ACTIVE = "active"
RETRACTED = "retracted"

Filter = dict[str, Any]
After = tuple[float, str]  # the (score, id) of the last document of the previous page
Page = tuple[list[dict[str, Any]], After | None]


class MatchingStore:
    def __init__(self, db: AsyncDatabase[dict[str, Any]], *, source: str, locks: KeyedLocks):
        self.db = db
        self._source = source
        self._locks = locks  # shared with the feedback outbox relay (see shared/locks.py)
        self.matches = db[MATCHES]
        self.consortia = db[CONSORTIA]
        self.agendas = db[AGENDAS]
        self.feedback = db[FEEDBACK]
        self._read = {MATCHES: _Read(), CONSORTIA: _Read()}

    async def ensure_indexes(self) -> None:
        # The operators' pages (participants' pages are read from their listings, by _id).
        await ensure_indexes(self.matches, IndexModel([("score", DESCENDING), ("_id", ASCENDING)]))
        await ensure_indexes(self.consortia, IndexModel([("score", DESCENDING), ("_id", ASCENDING)]))

    # -- projection of the service's own output events ---------------------------------------

    async def project(self, event: CloudEvent[Any]) -> None:
        await self.project_many([event])

    async def project_many(self, events: Sequence[CloudEvent[Any]]) -> None:
        """Apply output events, in order; idempotent. The events of one call are folded into one
        change per document: new documents are inserted in one go and only the others updated,
        so a document that changed many times within a batch is written once."""
        now = datetime.now(UTC)
        changes: dict[str, dict[str, _Change]] = {}
        for event in events:
            collection, document_id, fields, hide_for = _change_of(event.data, now)
            change = changes.setdefault(collection, {}).setdefault(document_id, _Change())
            change.fields.update(fields)
            if fields:
                change.fields["stamp"] = event.id
            if hide_for is not None:
                change.hidden_for.add(hide_for)
        # Who a proposed consortium had before (by _id, before anything is written): a member that a
        # later proposal leaves out drops from their listing.
        proposed = {e.data.consortium_id for e in events if isinstance(e.data, ConsortiumData)}
        members = {d["_id"]: set(d.get("participant_ids", []))
                   for d in await find_by_ids(self.consortia, proposed, {"participant_ids": True})}
        # The listings first: events written again after a failure find the documents as they were.
        # A participant's listing gathers events of every partition, which the replicas' projections
        # share: it is read, changed and written under its lock, held across processes (shared/locks.py).
        for collection, by_participant in _listings(events, members).items():
            async with self._locks.hold_all((collection, participant) for participant in by_participant):
                stored = {d["_id"]: d for d in await find_by_ids(self.db[collection], by_participant)}
                updates = []
                for participant, changed in by_participant.items():
                    listing = _summaries(stored.get(participant))
                    for entry_id, fields in changed.items():
                        listing.setdefault(entry_id, {"id": entry_id}).update(fields)
                    update: dict[str, Any] = {"$set": {LISTING: to_json(listing).decode()}}
                    if ENTRIES in stored.get(participant, {}):  # the layout before: folded into the text
                        update["$unset"] = {ENTRIES: ""}
                    updates.append(UpdateOne({"_id": participant}, update, upsert=True))
                await bulk_write_chunked(self.db[collection], updates)
        for collection, by_id in changes.items():
            await _write(self.db[collection], by_id)

    # -- queries -------------------------------------------------------------------------

    async def match(self, match_id: str) -> dict[str, Any] | None:
        document = await self.matches.find_one({"_id": match_id})
        return None if document is None else unpack(document, DATA)

    async def match_page(self, *, viewer: str | None, kind: str | None, min_score: float | None,
                         status: str | None, after: After | None, limit: int) -> Page:
        """Matches best first; ``viewer`` None means the operator (all of them)."""
        if viewer is not None:
            listed = await self.listed_matches(viewer, kind=kind, min_score=min_score, status=status)
            return await self.listed_page(viewer, listed, after, limit)
        clauses: list[Filter] = [HAS_DATA]
        if kind is not None:
            clauses.append({"kind": kind})
        if min_score is not None:
            clauses.append({"score": {"$gte": min_score}})
        if status is not None:
            clauses.append({"status": status})
        return await _best_first(self.matches, clauses, after, limit)

    async def listed_matches(self, viewer: str, *, kind: str | None, min_score: float | None,
                             status: str | None) -> list[dict[str, Any]]:
        """The entries of a participant's listing that the filters select (one look-up)."""
        return [e for e in await self._listing(MATCHES_BY_PARTICIPANT, viewer)
                if (kind is None or e["kind"] == kind) and (min_score is None or e["score"] >= min_score)
                and (status is None or _listed_status(e) == status)]

    async def listed_page(self, viewer: str, listed: list[dict[str, Any]], after: After | None, limit: int) -> Page:
        """A page of a participant's listed matches, best first."""
        return await _listed_page(self.matches, self._read[MATCHES], viewer, listed, after, limit)

    async def consortium_page(self, *, viewer: str | None, status: str | None, after: After | None,
                              limit: int) -> Page:
        if viewer is not None:
            listed = [e for e in await self._listing(CONSORTIA_BY_PARTICIPANT, viewer)
                      if (status is None or e["status"] == status) and e.get("member", True)]
            documents, next_after = await _listed_page(self.consortia, self._read[CONSORTIA], viewer, listed,
                                                       after, limit)
            # An entry listed before the copies (read by _id) may be of a consortium that a later
            # proposal left the viewer out of, which only the consortium's own document then says.
            return [d for d in documents if viewer in d["participant_ids"]], next_after
        clauses: list[Filter] = [HAS_DATA]
        if status is not None:
            clauses.append({"status": status})
        return await _best_first(self.consortia, clauses, after, limit)

    async def _listing(self, collection: str, participant: str) -> list[dict[str, Any]]:
        """A participant's listed matches or consortia (those known only from a retraction have no score)."""
        document = await self.db[collection].find_one({"_id": participant})
        return [e for e in _listed(document).values() if "score" in e]

    async def agenda(self, session_id: str) -> AgendaData | None:
        document = await self.agendas.find_one({"_id": session_id})
        return AgendaData.model_validate_json(document["data_json"]) if document else None

    async def live_workers(self, max_age: float) -> list[dict[str, Any]]:
        """The heartbeats of the stream workers that wrote one within ``max_age`` seconds."""
        since = datetime.now(UTC) - timedelta(seconds=max_age)
        return await self.db[WORKERS].find({"at": {"$gte": since}}).to_list()

    # -- feedback ------------------------------------------------------------------------

    async def record_feedback(self, feedback: MatchFeedbackData, relay: outbox.OutboxRelay) -> CloudEvent[Any]:
        """Store a participant's latest feedback on a match and stage its event in the same write."""
        event = new_event("match.feedback_given.v1", feedback, source=self._source, subject=feedback.match_id)
        document = {**feedback.model_dump(mode="json"), "given_at": event.time}
        document_id = f"{feedback.match_id}/{feedback.participant_id}"
        async with self._locks.hold(document_id):
            await self.feedback.update_one(
                {"_id": document_id},
                outbox.merge_update({"$set": document},
                                    outbox.entry(event, topics.MATCH_FEEDBACK, feedback.match_id)),
                upsert=True)
        relay.notify(self.feedback, document_id)
        return event


@dataclass
class _Change:
    """What a run of events does to one document: fields set (the last value wins) and the
    participants it is hidden for (added to the set)."""

    fields: dict[str, Any] = field(default_factory=dict)
    hidden_for: set[str] = field(default_factory=set)

    def update(self) -> dict[str, Any]:
        update: dict[str, Any] = {"$set": self.fields} if self.fields else {}
        if DATA_TEXT in self.fields:  # a document stored before its data was packed is packed now
            update["$unset"] = dict.fromkeys(DATA, "")
        if self.hidden_for:
            update["$addToSet"] = {"hidden_for": {"$each": sorted(self.hidden_for)}}
        return update


def _change_of(data: Any, now: datetime) -> tuple[str, str, dict[str, Any], str | None]:
    """(collection, document id, fields to set, participant to hide it for) of one output event."""
    if isinstance(data, MatchData):
        return MATCHES, data.match_id, {
            "kind": data.kind.value, "score": data.score, "status": ACTIVE, "reason": None,
            "parties": sorted({data.offer.owner_id, data.need.owner_id}),
            DATA_TEXT: data.model_dump_json(), "updated_at": now}, None
    if isinstance(data, MatchRetractedData) and data.for_participant is not None:
        return MATCHES, data.match_id, {}, data.for_participant
    if isinstance(data, MatchRetractedData):
        return MATCHES, data.match_id, {
            "kind": data.kind.value, "status": RETRACTED, "reason": data.reason.value,
            "parties": sorted({data.offer.owner_id, data.need.owner_id}), "updated_at": now}, None
    if isinstance(data, ConsortiumData):
        return CONSORTIA, data.consortium_id, {
            "status": ACTIVE, "score": data.score, "reason": None,
            "participant_ids": sorted({m.participant_id for m in data.members}),
            DATA_TEXT: data.model_dump_json(), "updated_at": now}, None
    if isinstance(data, ConsortiumRetractedData):
        return CONSORTIA, data.consortium_id, {"status": RETRACTED, "reason": data.reason, "updated_at": now}, None
    if isinstance(data, AgendaData):  # as JSON text: FerretDB v1 stores no nested arrays (must-meet pairs)
        return AGENDAS, data.session_id, {
            "version": data.version, "data_json": data.model_dump_json(), "updated_at": now}, None
    raise TypeError(f"not an output event of matching: {type(data).__name__}")


async def _write(collection: AsyncCollection[dict[str, Any]], by_id: dict[str, _Change]) -> None:
    """Insert the documents that are new, update the others by ``_id``. A document only hidden
    for someone is never created."""
    new = [{"_id": document_id, **change.fields, **({"hidden_for": sorted(change.hidden_for)}
                                                     if change.hidden_for else {})}
           for document_id, change in by_id.items() if change.fields]
    existing = [document_id for document_id, change in by_id.items() if not change.fields]
    if new:
        existing += await insert_new(collection, new)
    if existing:
        await bulk_write_chunked(collection, [UpdateOne({"_id": document_id}, by_id[document_id].update())
                                              for document_id in existing])


def viewer_status(document: dict[str, Any], viewer: str | None) -> str:
    """A match one participant declined is retracted for them while it stays active for the other."""
    if viewer is not None and viewer in document.get("hidden_for", []):
        return RETRACTED
    return str(document["status"])


def _listings(events: Sequence[CloudEvent[Any]],
              members: dict[str, set[str]]) -> dict[str, dict[str, dict[str, dict[str, Any]]]]:
    """Per listing collection and participant, the fields of their entries that ``events`` set, in
    order (the last value wins): what a page filters and sorts on (``SUMMARY``), not the match or
    consortium itself, which a page reads by ``_id``. ``members`` are the consortia's members
    before these events (updated here): a member a later proposal leaves out is marked
    ``member: false`` in their listing, which drops the consortium from their page."""
    listings: dict[str, dict[str, dict[str, dict[str, Any]]]] = {MATCHES_BY_PARTICIPANT: {},
                                                                 CONSORTIA_BY_PARTICIPANT: {}}

    def put(collection: str, participants: Iterable[str], entry_id: str, fields: dict[str, Any]) -> None:
        for participant in participants:
            listings[collection].setdefault(participant, {}).setdefault(entry_id, {}).update(fields)

    for event in events:
        data = event.data
        stamp = {"stamp": event.id}  # the document's, unless the event only hides it for someone
        if isinstance(data, MatchData):
            put(MATCHES_BY_PARTICIPANT, {data.offer.owner_id, data.need.owner_id}, data.match_id,
                {"kind": data.kind.value, "score": data.score, "status": ACTIVE, **stamp})
        elif isinstance(data, MatchRetractedData):
            parties = {data.offer.owner_id, data.need.owner_id}
            if data.for_participant is not None:  # declined: retracted for them, whatever comes later
                put(MATCHES_BY_PARTICIPANT, {data.for_participant}, data.match_id, {"hidden": True})
            else:
                put(MATCHES_BY_PARTICIPANT, parties, data.match_id, {"status": RETRACTED, **stamp})
        elif isinstance(data, ConsortiumData):
            team = {m.participant_id for m in data.members}
            put(CONSORTIA_BY_PARTICIPANT, team, data.consortium_id,
                {"score": data.score, "status": ACTIVE, "member": True, **stamp})
            put(CONSORTIA_BY_PARTICIPANT, members.get(data.consortium_id, set()) - team, data.consortium_id,
                {"member": False, **stamp})
            members[data.consortium_id] = team
        elif isinstance(data, ConsortiumRetractedData):
            put(CONSORTIA_BY_PARTICIPANT, set(data.participant_ids), data.consortium_id,
                {"status": RETRACTED, **stamp})
    return {collection: by_participant for collection, by_participant in listings.items() if by_participant}


def _listed(document: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """A stored listing's entries by id: its text, and the entries of the layout before it (one
    sub-document each, with a copy of the match or consortium), which a page then shows as copied."""
    if document is None:
        return {}
    listed = {e["id"]: e for e in document.get(ENTRIES, {}).values()}
    listed.update(json.loads(document[LISTING]) if LISTING in document else {})
    return listed


def _summaries(document: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """A stored listing's entries as the text keeps them: the summary only, no copies."""
    return {i: {k: v for k, v in e.items() if k in SUMMARY} for i, e in _listed(document).items()}


def _listed_status(entry: dict[str, Any]) -> str:
    return RETRACTED if entry.get("hidden") else entry["status"]


class _Read:
    """The documents this process read last (at most ``KEPT_DOCUMENTS``), each with its stamp."""

    def __init__(self) -> None:
        self._documents: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def current(self, entry: dict[str, Any]) -> dict[str, Any] | None:
        """The document an entry lists, if the one kept has the entry's stamp."""
        document = self._documents.get(entry["id"])
        if document is None or "stamp" not in entry or document.get("stamp") != entry["stamp"]:
            return None
        self._documents.move_to_end(entry["id"])
        return document

    def keep(self, documents: Iterable[dict[str, Any]]) -> None:
        for document in documents:
            if "stamp" in document:
                self._documents[document["_id"]] = document
                self._documents.move_to_end(document["_id"])
        while len(self._documents) > KEPT_DOCUMENTS:
            self._documents.popitem(last=False)


async def _listed_page(collection: AsyncCollection[dict[str, Any]], read: _Read, viewer: str,
                       listed: list[dict[str, Any]], after: After | None, limit: int) -> Page:
    """A page of a participant's listing, best first (score descending, then id): the documents
    read by ``_id``, but for those kept with their entry's stamp."""
    ordered = sorted(listed, key=lambda e: (-e["score"], e["id"]))
    if after is not None:
        ordered = [e for e in ordered if (-e["score"], e["id"]) > (-after[0], after[1])]
    page = ordered[:limit]
    found = {e["id"]: _copied(e) for e in page if DATA_TEXT in e}  # a copy in the layout before the text
    found.update({e["id"]: kept for e in page if e["id"] not in found and (kept := read.current(e)) is not None})
    fetched = [unpack(d, DATA) for d in await find_by_ids(collection, [e["id"] for e in page if e["id"] not in found])]
    read.keep(fetched)
    found.update({d["_id"]: d for d in fetched})
    # Who a match is hidden for changes without a stamp (a decline): the viewer's entry says it.
    documents = [{**found[e["id"]], "hidden_for": [viewer] if e.get("hidden") else []}
                 for e in page if e["id"] in found and "data" in found[e["id"]]]
    more = len(ordered) > limit
    return documents, ((page[-1]["score"], page[-1]["id"]) if more else None)


def _copied(entry: dict[str, Any]) -> dict[str, Any]:
    """A match or consortium as its document holds it, from the copy in a participant's listing
    (who it is hidden for comes from the entry, as for every document of a page; a consortium is
    listed only for its members)."""
    data = json.loads(entry[DATA_TEXT])
    document = {"_id": entry["id"], "score": entry["score"], "status": entry["status"], "reason": entry.get("reason"),
                "updated_at": entry["updated_at"], "data": data}
    if "kind" in entry:
        document["kind"] = entry["kind"]
    if "members" in data:
        document["participant_ids"] = sorted({m["participant_id"] for m in data["members"]})
    return document


async def _best_first(collection: AsyncCollection[dict[str, Any]], clauses: list[Filter], after: After | None,
                      limit: int) -> Page:
    """A page sorted by score (descending) then id: the operator's view, which scans on FerretDB."""
    if after is not None:
        score, last_id = after
        clauses = [*clauses, {"$or": [{"score": {"$lt": score}}, {"score": score, "_id": {"$gt": last_id}}]}]
    documents = [unpack(d, DATA) for d in await (collection.find({"$and": clauses})
                                                  .sort([("score", DESCENDING), ("_id", ASCENDING)])
                                                  .limit(limit + 1).to_list())]
    if len(documents) > limit:
        documents = documents[:limit]
        return documents, (documents[-1]["score"], documents[-1]["_id"])
    return documents, None
