"""MongoDB adapter of the matching service: the query API's read model of matches, consortia and
agendas (projected from the service's own output topics), and participants' feedback with its
outbox. Only operators that FerretDB v1 supports are used (``$or``, ``$ne`` on arrays,
``$addToSet``, upserts with ``$push``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
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

MATCHES = "matches"
CONSORTIA = "consortia"
AGENDAS = "agendas"
FEEDBACK = "feedback"

ACTIVE = "active"
RETRACTED = "retracted"

Filter = dict[str, Any]
After = tuple[float, str]  # the (score, id) of the last document of the previous page
Page = tuple[list[dict[str, Any]], After | None]


class MatchingStore:
    def __init__(self, db: AsyncDatabase, *, source: str, locks: KeyedLocks):
        self.db = db
        self._source = source
        self._locks = locks  # shared with the feedback outbox relay (see shared/locks.py)
        self.matches = db[MATCHES]
        self.consortia = db[CONSORTIA]
        self.agendas = db[AGENDAS]
        self.feedback = db[FEEDBACK]

    async def ensure_indexes(self) -> None:
        await self.matches.create_index([("parties", ASCENDING)])
        await self.matches.create_index([("score", DESCENDING), ("_id", ASCENDING)])
        await self.consortia.create_index([("participant_ids", ASCENDING)])

    # -- projection of the service's own output events ---------------------------------------

    async def project(self, event: CloudEvent) -> None:
        """Apply one output event; idempotent, and events of one entity arrive in order."""
        data, now = event.data, datetime.now(UTC)
        if isinstance(data, MatchData):
            await self.matches.update_one({"_id": data.match_id}, {"$set": {
                "kind": data.kind.value, "score": data.score, "status": ACTIVE, "reason": None,
                "parties": sorted({data.offer.owner_id, data.need.owner_id}),
                "data": data.model_dump(mode="json"), "updated_at": now}}, upsert=True)
        elif isinstance(data, MatchRetractedData) and data.for_participant is not None:
            await self.matches.update_one({"_id": data.match_id},
                                          {"$addToSet": {"hidden_for": data.for_participant}})
        elif isinstance(data, MatchRetractedData):
            await self.matches.update_one({"_id": data.match_id}, {"$set": {
                "kind": data.kind.value, "status": RETRACTED, "reason": data.reason.value,
                "parties": sorted({data.offer.owner_id, data.need.owner_id}), "updated_at": now}}, upsert=True)
        elif isinstance(data, ConsortiumData):
            await self.consortia.update_one({"_id": data.consortium_id}, {"$set": {
                "status": ACTIVE, "score": data.score, "reason": None,
                "participant_ids": sorted({m.participant_id for m in data.members}),
                "data": data.model_dump(mode="json"), "updated_at": now}}, upsert=True)
        elif isinstance(data, ConsortiumRetractedData):
            await self.consortia.update_one({"_id": data.consortium_id}, {"$set": {
                "status": RETRACTED, "reason": data.reason, "updated_at": now}}, upsert=True)
        elif isinstance(data, AgendaData):
            await self.agendas.update_one({"_id": data.session_id}, {"$set": {
                "version": data.version, "data": data.model_dump(mode="json"), "updated_at": now}}, upsert=True)

    # -- queries -------------------------------------------------------------------------

    async def match(self, match_id: str) -> dict[str, Any] | None:
        return await self.matches.find_one({"_id": match_id})

    async def match_page(self, *, viewer: str | None, kind: str | None, min_score: float | None,
                         status: str | None, after: After | None, limit: int) -> Page:
        """Matches best first; ``viewer`` None means the operator (all of them)."""
        clauses: list[Filter] = [{"data": {"$exists": True}}]
        if viewer is not None:
            clauses.append({"parties": viewer})
        if kind is not None:
            clauses.append({"kind": kind})
        if min_score is not None:
            clauses.append({"score": {"$gte": min_score}})
        if status is not None:
            clauses.append(_status_filter(status, viewer))
        return await _best_first(self.matches, clauses, after, limit)

    async def consortium_page(self, *, viewer: str | None, status: str | None, after: After | None,
                              limit: int) -> Page:
        clauses: list[Filter] = [{"data": {"$exists": True}}]
        if viewer is not None:
            clauses.append({"participant_ids": viewer})
        if status is not None:
            clauses.append({"status": status})
        return await _best_first(self.consortia, clauses, after, limit)

    async def agenda(self, session_id: str) -> dict[str, Any] | None:
        return await self.agendas.find_one({"_id": session_id})

    # -- feedback ------------------------------------------------------------------------

    async def record_feedback(self, feedback: MatchFeedbackData, relay: outbox.OutboxRelay) -> CloudEvent:
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


def viewer_status(document: dict[str, Any], viewer: str | None) -> str:
    """A match one participant declined is retracted for them while it stays active for the other."""
    if viewer is not None and viewer in document.get("hidden_for", []):
        return RETRACTED
    return document["status"]


def _status_filter(status: str, viewer: str | None) -> Filter:
    if viewer is None:
        return {"status": status}
    if status == ACTIVE:
        return {"status": ACTIVE, "hidden_for": {"$ne": viewer}}
    return {"$or": [{"status": RETRACTED}, {"hidden_for": viewer}]}


async def _best_first(collection: AsyncCollection, clauses: list[Filter], after: After | None, limit: int) -> Page:
    """A page sorted by score (descending) then id."""
    if after is not None:
        score, last_id = after
        clauses = [*clauses, {"$or": [{"score": {"$lt": score}}, {"score": score, "_id": {"$gt": last_id}}]}]
    documents = await (collection.find({"$and": clauses})
                       .sort([("score", DESCENDING), ("_id", ASCENDING)]).limit(limit + 1).to_list())
    if len(documents) > limit:
        documents = documents[:limit]
        return documents, (documents[-1]["score"], documents[-1]["_id"])
    return documents, None
