"""The matching service's use cases around the pure domain core, free of Kafka and MongoDB.

``Processor`` turns one input event into the output events it causes: each input type has its
handler (``Processor._handlers``); the domain decides what changed and what is news, and the
processor emits that and keeps the output ledger (``ledger.py``) that makes the output stream
replay-safe. Its state lives in plain mappings (faust tables in the service, dicts in unit
tests); the domain's ``MatchEngine`` is derived state, rebuilt from them by ``restore``.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.matching.domain.consortium import CONSORTIUM_TOP, ConsortiumBook, among_best, consortium_is_news
from services.matching.domain.engine import MatchChange, MatchEngine
from services.matching.domain.explanation import render
from services.matching.domain.scheduler import plan_agenda
from services.matching.ledger import AgendaKey, Batch, ConsortiumKey, DeclineKey, MatchKey, digest, parse_key
from shared import topics
from shared.events import CloudEvent, EventData
from shared.events.deals import ConversionPriorData
from shared.events.listing import ItemData, ItemStatus, ParticipantData
from shared.events.matching import (
    AGENDA_PUBLISHED,
    AGENDA_UPDATED,
    CONSORTIUM_PROPOSED,
    CONSORTIUM_RETRACTED,
    CONSORTIUM_UPDATED,
    MATCH_CREATED,
    MATCH_RETRACTED,
    MATCH_UPDATED,
    AgendaData,
    ConsortiumData,
    ConsortiumRetractedData,
    MatchData,
    MatchFeedbackData,
    MatchRetractedData,
    RetractReason,
)
from shared.events.sessions import (
    MeetingRequestData,
    RegistrationClosedData,
    RegistrationData,
    RegistrationStatus,
    SessionData,
)
from shared.party_types import Kind


@dataclass
class State:
    """The durable state: in the service each mapping is a faust table with a changelog."""

    # open item id -> {"item": ItemData json, "seen_at": event time, "position": offset in the work topic}
    items: MutableMapping[str, Any]
    participants: MutableMapping[str, Any]  # participant id -> ParticipantData json
    feedback: MutableMapping[str, Any]  # "match/participant" -> {"feedback": json, "at": iso time}
    sessions: MutableMapping[str, Any]  # session id -> registrations, meeting requests, closing, agenda
    ledger: MutableMapping[str, Any]  # output entity key -> {"version", "digest", "active", "data"}
    # "<field>|<offer>><need>" -> ConversionPriorData json: the latest deal-outcome prior per key
    priors: MutableMapping[str, Any] = field(default_factory=dict)


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
        # input data model -> its handler (data, event time, batch, position in the work topic)
        self._handlers: dict[type[EventData], Callable[[Any, datetime, Batch, int], None]] = {
            ParticipantData: self._on_participant,
            ItemData: self._on_item,
            MatchFeedbackData: self._on_feedback,
            SessionData: self._on_session,
            RegistrationData: self._on_registration,
            MeetingRequestData: self._on_meeting_request,
            RegistrationClosedData: self._on_registration_closed,
            ConversionPriorData: self._on_prior,
        }

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
        for raw in self.state.priors.values():  # before the items: they are scored with them
            prior = ConversionPriorData.model_validate(raw)
            self.engine.priors.set(prior.key, prior.prior)
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
        active = [(parse_key(text), entry) for text, entry in list(self.state.ledger.items()) if entry.get("active")]
        for key, entry in active:
            if isinstance(key, MatchKey) and key.match_id not in current:
                last = MatchData.model_validate(entry["data"])
                self._emit_retraction(batch, _retracted(last, self._lost_side_reason(last)))
        self.consortia.note(m.match_id for m in current.values() if m.kind is Kind.TECHNOLOGY)
        self.consortia.note(key.technology_match_id for key, _ in active if isinstance(key, ConsortiumKey))
        self.finish(batch)
        for session_id, session in list(self.state.sessions.items()):
            if session.get("agenda"):
                self._emit_agenda(batch, session_id, AgendaData.model_validate(session["agenda"]))
        return batch

    def _current_matches(self) -> dict[str, MatchData]:
        current = {m.match_id: m for item_id in self.state.items for m in self.engine.records_for(item_id)}
        return {match_id: render(scored) for match_id, scored in current.items()}

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
        handler = self._handlers.get(type(event.data))
        if handler is None:
            raise TypeError(f"the matching service does not handle {event.type}")
        handler(event.data, event.time, batch, position)

    def _on_participant(self, participant: ParticipantData, at: datetime, batch: Batch, position: int) -> None:
        self.state.participants[participant.id] = participant.model_dump(mode="json")
        self.engine.on_participant(participant)
        self.consortia.note_participant(participant.id, self.engine)

    def _on_item(self, item: ItemData, at: datetime, batch: Batch, position: int) -> None:
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

    def _on_feedback(self, feedback: MatchFeedbackData, at: datetime, batch: Batch, position: int) -> None:
        key = f"{feedback.match_id}/{feedback.participant_id}"
        self.state.feedback[key] = {"key": key, "feedback": feedback.model_dump(mode="json"),
                                    "at": at.isoformat()}
        self._apply_changes(batch, self.engine.on_feedback(feedback, at))

    def _on_prior(self, prior: ConversionPriorData, at: datetime, batch: Batch, position: int) -> None:
        """The latest version per key counts (the topic is compacted; an older one late changes nothing)."""
        known = self.state.priors.get(prior.key)
        if known is not None and known["version"] >= prior.version:
            return
        self.state.priors[prior.key] = prior.model_dump(mode="json")
        self._apply_changes(batch, self.engine.on_prior(prior.key, prior.prior, at))

    def _apply_changes(self, batch: Batch, changes: list[MatchChange]) -> None:
        for change in changes:
            data = change.data  # rendered here, when sent: the engine holds matches as numbers
            if isinstance(data, MatchData):
                self._emit_match(batch, data)
            else:
                self._emit_retraction(batch, data)
        self.consortia.note_matches(changes, self.engine)

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
            elif (tech_match := self.engine.record(technology_match_id)) is None:
                self._retract_consortium(batch, technology_match_id, "technology match retracted")
            elif not among_best(technology_match_id, tech_match.need.id, self.engine):
                self._retract_consortium(batch, technology_match_id,
                                         f"not among the need's best {CONSORTIUM_TOP} technology matches")
            else:
                self._retract_consortium(batch, technology_match_id, "no partner for any other role")

    # -- matches --------------------------------------------------------------------------

    def _emit_match(self, batch: Batch, match: MatchData) -> None:
        key = MatchKey(match.match_id)
        entry = batch.entry(key)
        content = digest(match)
        if entry and entry["active"] and entry["digest"] == content:
            return
        type_name = MATCH_UPDATED if entry and entry["active"] else MATCH_CREATED
        batch.emit(topics.MATCHES, match.match_id, type_name, match, ledger_key=key, active=True, content=content)

    def _emit_retraction(self, batch: Batch, retraction: MatchRetractedData) -> None:
        if retraction.for_participant is not None:
            declined = DeclineKey(retraction.match_id, retraction.for_participant)
            if batch.entry(declined):
                return
            batch.emit(topics.MATCHES, retraction.match_id, MATCH_RETRACTED, retraction, ledger_key=declined,
                       active=False, content=digest(retraction), version_of=MatchKey(retraction.match_id))
            return
        key = MatchKey(retraction.match_id)
        entry = batch.entry(key)
        if not entry or not entry["active"]:
            return
        batch.emit(topics.MATCHES, retraction.match_id, MATCH_RETRACTED, retraction, ledger_key=key, active=False,
                   content=digest(retraction))

    # -- consortia (五方联动) ----------------------------------------------------------------

    def _emit_consortium(self, batch: Batch, proposal: ConsortiumData) -> None:
        key = ConsortiumKey(proposal.technology_match_id)
        entry = batch.entry(key)
        if entry and entry["active"] and not consortium_is_news(entry["data"], proposal):
            return
        type_name = CONSORTIUM_UPDATED if entry and entry["active"] else CONSORTIUM_PROPOSED
        batch.emit(topics.CONSORTIA, proposal.consortium_id, type_name, proposal, ledger_key=key,
                   active=True, content=digest(proposal))

    def _retract_consortium(self, batch: Batch, technology_match_id: str, reason: str) -> None:
        key = ConsortiumKey(technology_match_id)
        entry = batch.entry(key)
        if not entry or not entry["active"]:
            return
        last = ConsortiumData.model_validate(entry["data"])
        retraction = ConsortiumRetractedData(
            consortium_id=last.consortium_id, technology_match_id=technology_match_id,
            participant_ids=sorted({m.participant_id for m in last.members}), reason=reason)
        batch.emit(topics.CONSORTIA, last.consortium_id, CONSORTIUM_RETRACTED, retraction, ledger_key=key,
                   active=False, content=digest(retraction))

    # -- sessions and agendas ---------------------------------------------------------------

    def _session(self, session_id: str) -> dict[str, Any]:
        return dict(self.state.sessions.get(session_id) or
                    {"registrations": {}, "meeting_requests": [], "closed": None, "agenda": None})

    def _on_session(self, data: SessionData, at: datetime, batch: Batch, position: int) -> None:
        session = self._session(data.id)
        session["session"] = data.model_dump(mode="json")
        self.state.sessions[data.id] = session

    def _on_meeting_request(self, data: MeetingRequestData, at: datetime, batch: Batch, position: int) -> None:
        """Kept with its session for the agenda; the latest preference for a pair wins."""
        session = self._session(data.session_id)
        pair = [data.requester_id, data.target_id]
        others = [r for r in session["meeting_requests"] if [r["requester_id"], r["target_id"]] != pair]
        session["meeting_requests"] = [*others, data.model_dump(mode="json")]
        self.state.sessions[data.session_id] = session

    def _on_registration(self, registration: RegistrationData, at: datetime, batch: Batch, position: int) -> None:
        session = self._session(registration.session_id)
        session["registrations"] = {**session["registrations"], registration.participant_id: registration.status}
        self.state.sessions[registration.session_id] = session
        if session["closed"] and registration.status is RegistrationStatus.CANCELLED:
            closed = RegistrationClosedData.model_validate(session["closed"])
            remaining = _without_participant(closed, registration.participant_id)
            if remaining != closed:
                self._plan(batch, registration.session_id, remaining)

    def _on_registration_closed(self, closed: RegistrationClosedData, at: datetime, batch: Batch,
                                position: int) -> None:
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
        key = AgendaKey(session_id)
        entry = batch.entry(key)
        content = digest(agenda)
        if entry and entry["digest"] == content:
            return
        type_name = AGENDA_UPDATED if entry else AGENDA_PUBLISHED
        batch.emit(topics.AGENDAS, session_id, type_name, agenda, ledger_key=key, active=True, content=content)

    def _pairs(self, closed: RegistrationClosedData) -> tuple[dict[frozenset[str], float], dict[frozenset[str], str]]:
        """The best match (score and id) between any two registrants, over all their open items."""
        registrants = {r.participant_id for r in closed.registrants}
        scores: dict[frozenset[str], float] = {}
        match_ids: dict[frozenset[str], str] = {}
        for participant in sorted(registrants):
            for item in self.engine.items_of(participant):
                for match in self.engine.records_for(item.id):
                    pair = frozenset((match.offer.owner_id, match.need.owner_id))
                    if len(pair) == 2 and pair <= registrants and match.score > scores.get(pair, -1.0):
                        scores[pair], match_ids[pair] = match.score, match.match_id
        return scores, match_ids


def _retracted(match: MatchData, reason: RetractReason) -> MatchRetractedData:
    return MatchRetractedData(match_id=match.match_id, kind=match.kind, offer=match.offer, need=match.need,
                              reason=reason)


def _without_participant(closed: RegistrationClosedData, participant_id: str) -> RegistrationClosedData:
    return closed.model_copy(update={
        "registrants": [r for r in closed.registrants if r.participant_id != participant_id],
        "meeting_requests": [r for r in closed.meeting_requests
                             if participant_id not in (r.requester_id, r.target_id)],
    })

