"""Kafka adapter: the events a session write stages in its outbox, and the consumer of the
listings (the local read model of who owns which open listing) and of agendas from matching."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiokafka import ConsumerRecord

from shared import outbox, topics
from shared.api.metrics import EVENTS_CONSUMED
from shared.events import CloudEvent, new_event
from shared.events.envelope import EventData
from shared.events.listing import ItemData
from shared.events.matching import AgendaData
from shared.kafka import EventConsumer, PermanentError, Producer
from shared.settings import ServiceSettings

SOURCE = "/services/events_sessions"
CONSUMER = "events_sessions"


def outbox_entries(session_id: str, events: Iterable[tuple[str, EventData]]) -> list[dict[str, Any]]:
    """Outbox entries on the sessions topic, keyed by session id so a session's events stay ordered."""
    return [outbox.entry(new_event(type_name, data, source=SOURCE, subject=session_id), topics.SESSIONS, session_id)
            for type_name, data in events]


def make_consumer(settings: ServiceSettings, producer: Producer, *,
                  on_listing: Callable[[ItemData], Awaitable[None]],
                  on_agenda: Callable[[AgendaData], Awaitable[None]]) -> EventConsumer:
    async def handle(event: CloudEvent, record: ConsumerRecord) -> None:
        if isinstance(event.data, ItemData):
            await on_listing(event.data)
        elif isinstance(event.data, AgendaData):
            await on_agenda(event.data)
        else:  # the topics' allowed types make this unreachable unless the registry drifts
            raise PermanentError(f"event type {event.type} is not handled by {CONSUMER}")
        EVENTS_CONSUMED.labels(settings.service_name, event.type).inc()

    return EventConsumer(settings, group_id=CONSUMER, topics=[topics.LISTINGS, topics.AGENDAS],
                         dead_letter=topics.dead_letter(CONSUMER), handler=handle, producer=producer)
