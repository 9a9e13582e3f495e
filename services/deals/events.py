"""Kafka adapter: the events a deal write stages in its outbox (on the deals topic, keyed by deal
id), and the one consumer of what the service keeps and counts: participants' names, offers' and
needs' fields and regions, sessions' hosts and titles, check-ins, matches, the parties' feedback,
agendas (which session a match was scheduled at, who meets whom) and the service's own deal events
(the funnel's steps)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiokafka import ConsumerRecord

from shared import outbox, topics
from shared.api.metrics import EVENTS_CONSUMED
from shared.events import CloudEvent, new_event
from shared.events.deals import DealData
from shared.events.envelope import EventData
from shared.events.listing import ItemData, ParticipantData
from shared.events.matching import AgendaData, MatchData, MatchFeedbackData
from shared.events.sessions import RegistrationData, SessionData
from shared.kafka import EventConsumer, PermanentError, Producer
from shared.settings import ServiceSettings

SOURCE = "/services/deals"
CONSUMER = "deals"
TOPICS = (topics.PARTICIPANTS, topics.LISTINGS, topics.DEMANDS, topics.SESSIONS, topics.MATCHES,
          topics.MATCH_FEEDBACK, topics.AGENDAS, topics.DEALS)
CHECKED_IN = "registration.checked_in.v1"
# What the consumed topics carry that changes no deal, no count, no session and no check-in.
IGNORED = frozenset({"match.retracted.v1", *(t for t in topics.SESSIONS.event_types
                                             if t not in ("session.created.v1", "session.updated.v1", CHECKED_IN))})


def outbox_entries(deal_id: str, events: Iterable[tuple[str, EventData]]) -> list[dict[str, Any]]:
    return [outbox.entry(new_event(type_name, data, source=SOURCE, subject=deal_id), topics.DEALS, deal_id)
            for type_name, data in events]


@dataclass(frozen=True)
class Receivers:
    participant: Callable[[ParticipantData], Awaitable[None]]
    item: Callable[[ItemData], Awaitable[None]]
    session: Callable[[SessionData], Awaitable[None]]
    check_in: Callable[[RegistrationData, CloudEvent], Awaitable[None]]
    match: Callable[[MatchData, CloudEvent], Awaitable[None]]
    feedback: Callable[[MatchFeedbackData, CloudEvent], Awaitable[None]]
    agenda: Callable[[AgendaData, CloudEvent], Awaitable[None]]
    deal: Callable[[DealData, CloudEvent], Awaitable[None]]


def make_consumer(settings: ServiceSettings, producer: Producer, receivers: Receivers) -> EventConsumer:
    async def handle(event: CloudEvent, record: ConsumerRecord) -> None:
        data = event.data
        if isinstance(data, ParticipantData):
            await receivers.participant(data)
        elif isinstance(data, ItemData):
            await receivers.item(data)
        elif isinstance(data, SessionData):
            await receivers.session(data)
        elif isinstance(data, RegistrationData) and event.type == CHECKED_IN:
            await receivers.check_in(data, event)
        elif isinstance(data, MatchData):
            await receivers.match(data, event)
        elif isinstance(data, MatchFeedbackData):
            await receivers.feedback(data, event)
        elif isinstance(data, AgendaData):
            await receivers.agenda(data, event)
        elif isinstance(data, DealData):
            await receivers.deal(data, event)
        elif event.type not in IGNORED:
            raise PermanentError(f"event type {event.type} is not handled by {CONSUMER}")
        EVENTS_CONSUMED.labels(settings.service_name, event.type).inc()

    return EventConsumer(settings, group_id=CONSUMER, topics=TOPICS, dead_letter=topics.dead_letter(CONSUMER),
                         handler=handle, producer=producer)
