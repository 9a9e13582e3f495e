"""MongoDB adapter: one document per session (with its registrations, meeting requests and
outbox), the local read model of listings, and the agendas received from matching (as JSON
text: FerretDB v1 stores no nested arrays, and an agenda's unscheduled must-meet pairs are one).

Every write to a session is compare-and-set on its ``revision``, holding the session's lock:
the lock makes writes to one document sequential in this process, which FerretDB v1 needs
(it loses one of two overlapping updates of a document, even two ``$inc``); the revision guard
keeps several processes on MongoDB correct, where ``update_one`` is atomic per document.
The decision (seat or waitlist), its arrival number and its events are written in ONE update.

A participant's sessions and agendas are read by ``_id`` (FerretDB v1 scans for any other filter):
``participant_sessions[participant]`` lists the sessions they registered in and those whose agenda
has a meeting of theirs. Each is noted there before the session or agenda is written, so the list
holds at least those; readers check each session or agenda they read from it.
"""

from __future__ import annotations

import asyncio

from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel
from pymongo import ASCENDING, IndexModel, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from shared import outbox
from shared.events.listing import ItemData, ItemStatus
from shared.events.matching import AgendaData
from shared.locks import KeyedLocks
from shared.mongo import PACKED, bulk_write_chunked, ensure_indexes, find_by_ids, keep_newest, pack, unpack
from shared.domain_errors import Conflict, NotFound
from services.events_sessions.domain.model import Session
from services.events_sessions.domain.seats import Change, apply, seat_counts
from services.events_sessions.events import outbox_entries

T = TypeVar("T")

# Compare-and-set retries: in one process the lock makes a retry rare (another process wrote).
MAX_ATTEMPTS = 50
# Sessions whose last written state is kept, so a write skips reading the (large) document back.
CACHED_SESSIONS = 64
# A session's registrations and meeting requests are stored packed (shared.mongo.pack): most of a
# session's elements, which FerretDB v1 decodes one by one on every read of the document.
BOOK = ("meeting_requests", "registrations")
HEAVY_FIELDS = (*BOOK, *(name + PACKED for name in BOOK), "registrants", outbox.OUTBOX)
SUMMARY = {name: 0 for name in HEAVY_FIELDS}
_PARTICIPANT_SESSIONS = "participant-sessions"


def _book(session: Session) -> dict[str, Any]:
    return pack(session.model_dump(include=set(BOOK)), BOOK)


def _document(session: Session) -> dict[str, Any]:
    document = session.model_dump(exclude={"id", *BOOK})
    document["_id"] = session.id
    document.update(_book(session))
    document.update(seat_counts(session).as_document())
    document["registrants"] = sorted({r.participant_id for r in session.registrations.values()})
    return document


def _missing(session_id: str) -> NotFound:
    return NotFound(f"no session {session_id!r} / 活动不存在")


def to_session(document: dict[str, Any]) -> Session:
    return Session.model_validate({**unpack(document, BOOK), "id": document["_id"]})


class SessionStore:
    def __init__(self, db: AsyncDatabase, locks: KeyedLocks):
        self.sessions = db["sessions"]
        self.listings = db["listings"]
        self.agendas = db["agendas"]
        self.participant_sessions = db["participant_sessions"]
        self.upgrades = db["upgrades"]  # one document per upgrade done
        self.locks = locks
        self._written: OrderedDict[str, Session] = OrderedDict()

    async def ensure_indexes(self) -> None:
        await ensure_indexes(self.sessions, IndexModel([("starts_at", ASCENDING), ("_id", ASCENDING)]),
                             IndexModel([("registrants", ASCENDING)]),
                             IndexModel([("registration_open", ASCENDING), ("registration_closes_at", ASCENDING)]),
                             IndexModel([(outbox.PENDING, ASCENDING)]))
        await ensure_indexes(self.agendas, IndexModel([("participants", ASCENDING)]))

    async def upgrade(self) -> int:
        """Note the sessions and agendas stored before ``participant_sessions`` existed, once per
        database (a scan of both collections); how many participants."""
        if await self.upgrades.find_one({"_id": _PARTICIPANT_SESSIONS}) is not None:
            return 0
        noted: dict[str, dict[str, set[str]]] = {}
        async for document in self.sessions.find({}, {"registrants": 1}):
            for participant in document.get("registrants", []):
                noted.setdefault(participant, {"sessions": set(), "agendas": set()})["sessions"].add(document["_id"])
        async for document in self.agendas.find({}, {"participants": 1}):
            for participant in document.get("participants", []):
                noted.setdefault(participant, {"sessions": set(), "agendas": set()})["agendas"].add(document["_id"])
        await bulk_write_chunked(self.participant_sessions, [
            UpdateOne({"_id": participant},
                      {"$addToSet": {field: {"$each": sorted(ids)} for field, ids in lists.items() if ids}},
                      upsert=True)
            for participant, lists in noted.items()])
        await self.upgrades.update_one({"_id": _PARTICIPANT_SESSIONS}, {"$set": {"participants": len(noted)}},
                                       upsert=True)
        return len(noted)

    async def _note(self, participants: list[str], field: str, session_id: str) -> None:
        """Add the session to the participants' list ``field`` (``sessions``, ``agendas``)."""
        async with self.locks.hold_all(("participant", p) for p in participants):
            await bulk_write_chunked(self.participant_sessions, [
                UpdateOne({"_id": p}, {"$addToSet": {field: session_id}}, upsert=True) for p in participants])

    async def _noted(self, participant_id: str, field: str) -> list[str]:
        document = await self.participant_sessions.find_one({"_id": participant_id}, {field: 1})
        return sorted((document or {}).get(field, []))

    # sessions

    async def insert(self, session: Session, change: Change) -> list[dict[str, Any]]:
        """Store a new session with its events; returns the outbox entries staged."""
        entries = outbox_entries(session.id, change.events)
        await self.sessions.insert_one(outbox.with_outbox(_document(session), *entries))
        return entries

    async def get(self, session_id: str) -> Session:
        document = await self.sessions.find_one({"_id": session_id})
        if document is None:
            raise _missing(session_id)
        return to_session(document)

    async def summary(self, session_id: str) -> dict[str, Any]:
        """The session without its registrations, with their stored counts (see ``page``)."""
        document = await self.sessions.find_one({"_id": session_id}, SUMMARY)
        if document is None:
            raise _missing(session_id)
        return document

    async def ensure_exists(self, session_id: str) -> None:
        """NotFound unless the session exists; cheap for a session this process wrote lately."""
        if session_id not in self._written and await self.sessions.find_one({"_id": session_id}, {"_id": 1}) is None:
            raise _missing(session_id)

    async def mutate(self, session_id: str,
                     decide: Callable[[Session], tuple[T, Change]]) -> tuple[T, list[dict[str, Any]]]:
        """Decide on the current state and write the decision with its events, atomically;
        returns the decision's result and the outbox entries staged."""
        async with self.locks.hold(session_id):
            session = self._written.pop(session_id, None) or await self.get(session_id)
            for _ in range(MAX_ATTEMPTS):
                result, change = decide(session)
                staged = await self._write(session, change)
                if staged is not None:
                    self._remember(apply(session, change).model_copy(update={"revision": session.revision + 1}))
                    return result, staged
                session = await self.get(session_id)  # another process wrote it
        raise Conflict("the session is changing too fast, retry / 活动正忙，请重试")

    def _remember(self, session: Session) -> None:
        self._written[session.id] = session
        while len(self._written) > CACHED_SESSIONS:
            self._written.popitem(last=False)

    async def _write(self, session: Session, change: Change) -> list[dict[str, Any]] | None:
        """The entries staged, or None when another process changed the session first."""
        after = apply(session, change)
        fields = {name: value.model_dump() if isinstance(value, BaseModel) else value
                  for name, value in change.fields.items()}
        # The whole book on every write; a session stored before it was packed is packed now.
        fields.update({**seat_counts(after).as_document(), "revision": session.revision + 1, **_book(after)})
        update: dict[str, Any] = {"$set": fields, "$unset": dict.fromkeys(BOOK, "")}
        if change.new_participant is not None:
            await self._note([change.new_participant], "sessions", session.id)
            update["$addToSet"] = {"registrants": change.new_participant}
        entries = outbox_entries(session.id, change.events)
        if entries:
            update = outbox.merge_update(update, *entries)
        result = await self.sessions.update_one({"_id": session.id, "revision": session.revision}, update)
        return entries if result.matched_count == 1 else None

    async def page(self, query: dict[str, Any], *, after: tuple[datetime, str] | None,
                   limit: int) -> list[dict[str, Any]]:
        """Session summaries (without registrations) by start time, after a (starts_at, id) cursor."""
        if after is not None:
            starts_at, session_id = after
            query = {"$and": [query, {"$or": [{"starts_at": {"$gt": starts_at}},
                                              {"starts_at": starts_at, "_id": {"$gt": session_id}}]}]}
        cursor = self.sessions.find(query, SUMMARY).sort([("starts_at", ASCENDING), ("_id", ASCENDING)])
        return await cursor.limit(limit).to_list()

    async def of_participant(self, participant_id: str, *, after: str | None, limit: int) -> list[Session]:
        """The sessions the participant registered in, by id, after ``after``: ``limit`` of them
        read by ``_id``."""
        ids = [i for i in await self._noted(participant_id, "sessions") if after is None or i > after]
        documents = await find_by_ids(self.sessions, ids[:limit])
        return [to_session(d) for d in documents if participant_id in d.get("registrants", [])]

    async def due_for_closing(self, now: datetime) -> list[str]:
        documents = await self.sessions.find({"registration_open": True, "registration_closes_at": {"$lte": now}},
                                             {"_id": 1}).to_list()
        return [d["_id"] for d in documents]

    # listings read model

    async def save_listing(self, item: ItemData) -> None:
        """Keep the newest snapshot of a listing; an older or repeated one changes nothing."""
        await keep_newest(self.listings, item.id, item.version,
                          {"owner_id": item.owner_id, "status": item.status.value})

    async def listings_named(self, listing_ids: list[str]) -> dict[str, tuple[str, ItemStatus]]:
        documents = await find_by_ids(self.listings, listing_ids)
        return {d["_id"]: (d["owner_id"], ItemStatus(d["status"])) for d in documents}

    # agendas

    async def save_agenda(self, agenda: AgendaData) -> bool:
        """Store an agenda unless a newer (or the same) version is stored; True when stored."""
        participants = sorted({p for m in agenda.meetings for p in m.participant_ids})
        await self._note(participants, "agendas", agenda.session_id)
        return await keep_newest(self.agendas, agenda.session_id, agenda.version,
                                 {"data_json": agenda.model_dump_json(), "participants": participants})

    async def agenda(self, session_id: str) -> AgendaData | None:
        document = await self.agendas.find_one({"_id": session_id}, {"data_json": 1})
        return None if document is None else AgendaData.model_validate_json(document["data_json"])

    async def agendas_of(self, participant_id: str) -> list[tuple[AgendaData, Session]]:
        """The agendas with a meeting of the participant's, each with its session: the list noted
        for the participant, then its agendas and their sessions together, each read by ``_id``."""
        noted = await self._noted(participant_id, "agendas")
        documents, sessions = await asyncio.gather(find_by_ids(self.agendas, noted), find_by_ids(self.sessions, noted))
        by_id = {d["_id"]: d for d in sessions}
        return [(AgendaData.model_validate_json(d["data_json"]), to_session(by_id[d["_id"]])) for d in documents
                if participant_id in d.get("participants", []) and d["_id"] in by_id]
