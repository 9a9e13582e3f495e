"""The matching service's use cases around the pure domain core, free of Kafka and MongoDB.

``Processor`` turns one input event into the output events it causes. Its state lives in
plain mappings (faust tables in the service, dicts in unit tests); the domain's ``MatchEngine``
is derived state, rebuilt from them by ``restore``.

Output bookkeeping (the *ledger*) makes the output stream replay-safe: every match, consortium
and agenda has a version counter, an output event's id is ``uuid5(entity id / version)``, and an
output is emitted only when its content differs from the last one recorded. The adapter records
an emission in the ledger only after Kafka acknowledged it, so a crash in between re-emits the
same event with the same id, and a replay of already handled input emits nothing new.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from services.matching.domain.consortium import ConsortiumBook, consortium_is_news
from services.matching.domain.engine import MatchEngine
from services.matching.domain.scheduler import plan_agenda
from shared import topics
from shared.events import CloudEvent, EventData, new_event
from shared.events.listing import ItemData, ItemStatus, ParticipantData
from shared.events.matching import (
    AgendaData,
    ConsortiumData,
    ConsortiumRetractedData,
    MatchData,
    MatchFeedbackData,
    MatchRetractedData,
    RetractReason,
)
from shared.events.sessions import RegistrationClosedData, RegistrationData, RegistrationStatus
from shared.party_types import Kind
from shared.topics import TopicSpec

SOURCE = "/services/matching"
EVENT_ID_NAMESPACE = uuid.UUID("6f1c8a52-3b7e-5d0a-9c4e-2a8f7b1d6e30")

CONSORTIUM_KEY = "consortium:"  # ledger key prefix, before the technology match id


def output_event_id(entity_id: str, version: int) -> str:
    """Deterministic id of an output event, so a replay and its notification dedupe."""
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{entity_id}/{version}"))


def digest(data: BaseModel) -> str:
    return hashlib.sha256(data.model_dump_json().encode()).hexdigest()[:32]


@dataclass
class State:
    """The durable state: in the service each mapping is a faust table with a changelog."""

    # open item id -> {"item": ItemData json, "seen_at": event time, "position": offset in the work topic}
    items: MutableMapping[str, Any]
    participants: MutableMapping[str, Any]  # participant id -> ParticipantData json
    feedback: MutableMapping[str, Any]  # "match/participant" -> {"feedback": json, "at": iso time}
    sessions: MutableMapping[str, Any]  # session id -> registrations, meeting requests, closing, agenda
    ledger: MutableMapping[str, Any]  # output entity key -> {"version", "digest", "active", "data"}


@dataclass(frozen=True)
class Emission:
    topic: TopicSpec
    key: str
    event: CloudEvent[Any]


@dataclass
class Batch:
    """Emissions of a batch of input events, and the ledger entries to record once Kafka
    acknowledged them; later emissions see the entries of earlier ones."""

    sent: Mapping[str, Any]  # entries of earlier batches sent but not recorded yet
    ledger: Mapping[str, Any]
    emissions: list[Emission] = field(default_factory=list)
    pending: dict[str, dict[str, Any]] = field(default_factory=dict)

    def entry(self, key: str) -> dict[str, Any] | None:
        # one look-up per layer: each look-up in a faust table reads RocksDB
        return self.pending.get(key) or self.sent.get(key) or self.ledger.get(key)

    def emit(self, topic: TopicSpec, key: str, type_name: str, data: EventData, *, ledger_key: str,
             active: bool, content: str, version_of: str | None = None) -> None:
        previous = self.entry(ledger_key) or {}
        counter = (self.entry(version_of) or {}) if version_of else previous
        version = counter.get("version", 0) + 1
        entry = {**previous, "version": version, "digest": content, "active": active,
                 "data": data.model_dump(mode="json")}
        entity_id = version_of or ledger_key
        event = new_event(type_name, data, source=SOURCE, subject=key,
                          event_id=output_event_id(entity_id, version))
        self.pending[ledger_key] = entry
        if version_of:  # a per-participant retraction advances its match's version counter too
            self.pending[version_of] = {**counter, "version": version}
        self.emissions.append(Emission(topic, key, event))


class Processor:
    def __init__(self, state: State, *, threshold: float = 0.35, top_k: int = 10):
        self.state = state
        self._threshold = threshold
        self._top_k = top_k
        self.engine = MatchEngine(threshold=threshold, top_k=top_k)
        self._sent_unrecorded: dict[str, dict[str, Any]] = {}
        # which consortia may have changed since they were last worked out, and their members;
        # derived state: lost in a crash, ``restore`` works every consortium out again
        self.consortia = ConsortiumBook()

    # -- start-up -------------------------------------------------------------------------

    def new_batch(self) -> Batch:
        return Batch(self._sent_unrecorded, self.state.ledger)

    def commit(self, batch: Batch) -> None:
        """Record a batch's emissions in the ledger; call once Kafka acknowledged them."""
        for key, entry in {**self._sent_unrecorded, **batch.pending}.items():
            self.state.ledger[key] = entry
        self._sent_unrecorded = {}

    def hold(self, batch: Batch) -> None:
        """Keep a sent batch's ledger entries until they can be recorded with the next ``commit``
        (the store accepts writes only while an input event is being handled)."""
        self._sent_unrecorded = {**self._sent_unrecorded, **batch.pending}

    def restore(self) -> Batch:
        """Rebuild the engine from the tables, then emit whatever the ledger has not recorded
        (a crash between a state change and its output event)."""
        self.engine = MatchEngine(threshold=self._threshold, top_k=self._top_k)
        self.consortia = ConsortiumBook()
        for raw in self.state.participants.values():
            self.engine.on_participant(ParticipantData.model_validate(raw))
        # The order in which the items were handled, so the text statistics each saw match.
        stored = sorted(self.state.items.values(), key=lambda s: (s["position"], s["item"]["id"]))
        for record in stored:
            self.engine.on_item(ItemData.model_validate(record["item"]), datetime.fromisoformat(record["seen_at"]))
        for record in sorted(self.state.feedback.values(), key=lambda r: (r["at"], r["key"])):
            self.engine.on_feedback(MatchFeedbackData.model_validate(record["feedback"]),
                                    datetime.fromisoformat(record["at"]))
        return self.reconcile()

    def reconcile(self) -> Batch:
        """Emissions that bring the ledger (what was sent) level with the engine and the tables."""
        batch = self.new_batch()
        current = self._current_matches()
        for match in current.values():
            self._emit_match(batch, match)
        for key, entry in list(self.state.ledger.items()):
            if key.startswith("m_") and "@" not in key and entry.get("active") and key not in current:
                last = MatchData.model_validate(entry["data"])
                self._emit_retraction(batch, _retracted(last, self._lost_side_reason(last)))
        self.consortia.note(m.match_id for m in current.values() if m.kind is Kind.TECHNOLOGY)
        self.consortia.note(key.removeprefix(CONSORTIUM_KEY) for key, entry in self.state.ledger.items()
                            if key.startswith(CONSORTIUM_KEY) and entry.get("active"))
        self.finish(batch)
        for session_id, session in list(self.state.sessions.items()):
            if session.get("agenda"):
                self._emit_agenda(batch, session_id, AgendaData.model_validate(session["agenda"]))
        return batch

    def _current_matches(self) -> dict[str, MatchData]:
        return {m.match_id: m for item_id in self.state.items for m in self.engine.matches_for(item_id)}

    def _lost_side_reason(self, match: MatchData) -> RetractReason:
        if match.offer.item_id not in self.state.items:
            return RetractReason.OFFER_WITHDRAWN
        if match.need.item_id not in self.state.items:
            return RetractReason.NEED_WITHDRAWN
        if self.engine.declined_by(match.match_id) >= {match.offer.owner_id, match.need.owner_id}:
            return RetractReason.DECLINED
        return RetractReason.BELOW_THRESHOLD

    # -- input events ---------------------------------------------------------------------

    def handle(self, event: CloudEvent[Any], batch: Batch, position: int) -> None:
        """Handle one input event; ``position`` orders events as handled (the work topic's offset)."""
        data = event.data
        if isinstance(data, ParticipantData):
            self.state.participants[data.id] = data.model_dump(mode="json")
            self.engine.on_participant(data)
            self.consortia.note_participant(data.id, self.engine)
        elif isinstance(data, ItemData):
            self._on_item(batch, data, event.time, position)
        elif isinstance(data, MatchFeedbackData):
            self._on_feedback(batch, data, event.time)
        elif isinstance(data, RegistrationClosedData):
            self._on_registration_closed(batch, data)
        elif isinstance(data, RegistrationData):
            self._on_registration(batch, data)
        else:  # sessions and meeting requests: kept with their session
            self._remember_session_event(event)

    def _on_item(self, batch: Batch, item: ItemData, at: datetime, position: int) -> None:
        known = self.state.items.get(item.id)
        if known is not None and known["item"]["version"] > item.version:
            return  # an older snapshot arriving late changes nothing
        if item.status is ItemStatus.OPEN:
            self.state.items[item.id] = {"item": item.model_dump(mode="json"), "seen_at": at.isoformat(),
                                         "position": position}
        elif known is not None:
            del self.state.items[item.id]
        self._apply_changes(batch, self.engine.on_item(item, at))
        self.consortia.note_support_offer(item, self.engine, at)

    def _on_feedback(self, batch: Batch, feedback: MatchFeedbackData, at: datetime) -> None:
        key = f"{feedback.match_id}/{feedback.participant_id}"
        self.state.feedback[key] = {"key": key, "feedback": feedback.model_dump(mode="json"),
                                    "at": at.isoformat()}
        self._apply_changes(batch, self.engine.on_feedback(feedback, at))

    def _apply_changes(self, batch: Batch, changes: Iterable[Any]) -> None:
        touched: list[MatchData | MatchRetractedData] = []
        for change in changes:
            if isinstance(change.data, MatchData):
                self._emit_match(batch, change.data)
            else:
                self._emit_retraction(batch, change.data)
            touched.append(change.data)
        self.consortia.note_matches(touched, self.engine)

    def finish(self, batch: Batch, *, settle_consortia: bool = True) -> None:
        """Emit what the events handled so far did to consortia; call after a batch's last event.
        A consortium is worked out once per call, however many of its matches changed since the
        last; ``settle_consortia=False`` defers that (while a backlog is worked off), so a
        consortium whose matches keep changing is not sent again and again."""
        if not settle_consortia:
            return
        for technology_match_id, proposal in self.consortia.settle(self.engine):
            if proposal is not None:
                self._emit_consortium(batch, proposal)
            elif self.engine.match(technology_match_id) is None:
                self._retract_consortium(batch, technology_match_id, "technology match retracted")
            else:
                self._retract_consortium(batch, technology_match_id, "no partner for any other role")

    # -- matches --------------------------------------------------------------------------

    def _emit_match(self, batch: Batch, match: MatchData) -> None:
        entry = batch.entry(match.match_id)
        content = digest(match)
        if entry and entry["active"] and entry["digest"] == content:
            return
        type_name = "match.updated.v1" if entry and entry["active"] else "match.created.v1"
        batch.emit(topics.MATCHES, match.match_id, type_name, match, ledger_key=match.match_id,
                   active=True, content=content)

    def _emit_retraction(self, batch: Batch, retraction: MatchRetractedData) -> None:
        if retraction.for_participant is not None:
            key = f"{retraction.match_id}@{retraction.for_participant}"
            if batch.entry(key):
                return
            batch.emit(topics.MATCHES, retraction.match_id, "match.retracted.v1", retraction, ledger_key=key,
                       active=False, content=digest(retraction), version_of=retraction.match_id)
            return
        entry = batch.entry(retraction.match_id)
        if not entry or not entry["active"]:
            return
        batch.emit(topics.MATCHES, retraction.match_id, "match.retracted.v1", retraction,
                   ledger_key=retraction.match_id, active=False, content=digest(retraction))

    # -- consortia (五方联动) ----------------------------------------------------------------

    def _emit_consortium(self, batch: Batch, proposal: ConsortiumData) -> None:
        key = _consortium_key(proposal.technology_match_id)
        entry = batch.entry(key)
        if entry and entry["active"] and not consortium_is_news(entry["data"], proposal):
            return
        type_name = "consortium.updated.v1" if entry and entry["active"] else "consortium.proposed.v1"
        batch.emit(topics.CONSORTIA, proposal.consortium_id, type_name, proposal, ledger_key=key,
                   active=True, content=digest(proposal))

    def _retract_consortium(self, batch: Batch, technology_match_id: str, reason: str) -> None:
        key = _consortium_key(technology_match_id)
        entry = batch.entry(key)
        if not entry or not entry["active"]:
            return
        last = ConsortiumData.model_validate(entry["data"])
        retraction = ConsortiumRetractedData(
            consortium_id=last.consortium_id, technology_match_id=technology_match_id,
            participant_ids=sorted({m.participant_id for m in last.members}), reason=reason)
        batch.emit(topics.CONSORTIA, last.consortium_id, "consortium.retracted.v1", retraction, ledger_key=key,
                   active=False, content=digest(retraction))

    # -- sessions and agendas ---------------------------------------------------------------

    def _session(self, session_id: str) -> dict[str, Any]:
        return dict(self.state.sessions.get(session_id) or
                    {"registrations": {}, "meeting_requests": [], "closed": None, "agenda": None})

    def _remember_session_event(self, event: CloudEvent[Any]) -> None:
        data = event.data
        session_id = data.session_id if hasattr(data, "session_id") else data.id
        session = self._session(session_id)
        if event.type.startswith("session."):
            session["session"] = data.model_dump(mode="json")
        else:  # meeting.requested.v1: the latest preference for a pair wins
            pair = [data.requester_id, data.target_id]
            others = [r for r in session["meeting_requests"] if [r["requester_id"], r["target_id"]] != pair]
            session["meeting_requests"] = [*others, data.model_dump(mode="json")]
        self.state.sessions[session_id] = session

    def _on_registration(self, batch: Batch, registration: RegistrationData) -> None:
        session = self._session(registration.session_id)
        session["registrations"] = {**session["registrations"], registration.participant_id: registration.status}
        self.state.sessions[registration.session_id] = session
        if session["closed"] and registration.status is RegistrationStatus.CANCELLED:
            closed = RegistrationClosedData.model_validate(session["closed"])
            remaining = _without_participant(closed, registration.participant_id)
            if remaining != closed:
                self._plan(batch, registration.session_id, remaining)

    def _on_registration_closed(self, batch: Batch, closed: RegistrationClosedData) -> None:
        session = self._session(closed.session.id)
        if session["closed"] == closed.model_dump(mode="json") and session["agenda"]:
            return  # the same closing delivered again
        self._plan(batch, closed.session.id, closed)

    def _plan(self, batch: Batch, session_id: str, closed: RegistrationClosedData) -> None:
        session = self._session(session_id)
        previous = AgendaData.model_validate(session["agenda"]) if session["agenda"] else None
        scores, match_ids = self._pairs(closed)
        agenda = plan_agenda(closed, scores, previous, match_ids=match_ids)
        session["closed"] = closed.model_dump(mode="json")
        session["agenda"] = agenda.model_dump(mode="json")
        self.state.sessions[session_id] = session
        self._emit_agenda(batch, session_id, agenda)

    def _emit_agenda(self, batch: Batch, session_id: str, agenda: AgendaData) -> None:
        key = f"agenda:{session_id}"
        entry = batch.entry(key)
        content = digest(agenda)
        if entry and entry["digest"] == content:
            return
        type_name = "agenda.updated.v1" if entry else "agenda.published.v1"
        batch.emit(topics.AGENDAS, session_id, type_name, agenda, ledger_key=key, active=True, content=content)

    def _pairs(self, closed: RegistrationClosedData) -> tuple[dict[frozenset[str], float], dict[frozenset[str], str]]:
        """The best match (score and id) between any two registrants, over all their open items."""
        registrants = {r.participant_id for r in closed.registrants}
        scores: dict[frozenset[str], float] = {}
        match_ids: dict[frozenset[str], str] = {}
        for participant in sorted(registrants):
            for item in self.engine.items_of(participant):
                for match in self.engine.matches_for(item.id):
                    pair = frozenset((match.offer.owner_id, match.need.owner_id))
                    if len(pair) == 2 and pair <= registrants and match.score > scores.get(pair, -1.0):
                        scores[pair], match_ids[pair] = match.score, match.match_id
        return scores, match_ids


def _consortium_key(technology_match_id: str) -> str:
    return CONSORTIUM_KEY + technology_match_id


def _retracted(match: MatchData, reason: RetractReason) -> MatchRetractedData:
    return MatchRetractedData(match_id=match.match_id, kind=match.kind, offer=match.offer, need=match.need,
                              reason=reason)


def _without_participant(closed: RegistrationClosedData, participant_id: str) -> RegistrationClosedData:
    return closed.model_copy(update={
        "registrants": [r for r in closed.registrants if r.participant_id != participant_id],
        "meeting_requests": [r for r in closed.meeting_requests
                             if participant_id not in (r.requester_id, r.target_id)],
    })
