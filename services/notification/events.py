"""Kafka adapter: the fan-out consumer (matches, consortia, agendas, registrations, alerts, plus
participants' contacts and sessions' titles) and the dead-letter topic of failed deliveries."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiokafka import ConsumerRecord
from aiokafka.errors import KafkaError

from services.notification import metrics
from services.notification.domain import fanout
from services.notification.domain.digest import digest_id, due_at, window_end
from services.notification.domain.notices import OPERATOR_RECIPIENT, Channel, Notice, notification_id
from services.notification.domain.preferences import DeliveryMode, Effective, effective
from services.notification.domain.render import Rendered, render
from services.notification.live import Broadcaster
from services.notification.settings import Settings
from services.notification.storage import Store
from shared import topics
from shared.events import CloudEvent
from shared.events.common import Language
from shared.events.listing import ParticipantData
from shared.events.sessions import RegistrationClosedData, SessionData
from shared.kafka import DLQ_REASON, EventConsumer, Producer

log = logging.getLogger(__name__)

CONSUMER_GROUP = "notification"
CONSUMED_TOPICS = (topics.MATCHES, topics.CONSORTIA, topics.AGENDAS, topics.SESSIONS, topics.ALERTS,
                   topics.PARTICIPANTS)
DELIVERY_DEAD_LETTER = topics.dead_letter("notification-webhooks")


def operator_preferences(settings: Settings) -> Effective:
    return Effective(language=Language.ZH_CN, stream=False, webhook_url=settings.operator_webhook_url,
                     email=settings.operator_email, min_match_score=0.0, categories=frozenset(),
                     delivery=DeliveryMode.IMMEDIATE)


def webhook_payload(kind: str, message_id: str, recipient: str, rendered: Rendered, language: Language,
                    details: dict[str, Any], now: datetime) -> str:
    """The body every webhook carries, per Standard Webhooks: ``type``, ``timestamp``, ``data``."""
    return json.dumps({"type": kind, "timestamp": now.isoformat(), "data": {
        "id": message_id, "recipient": recipient, "language": language.value,
        "subject": rendered.subject, "body": rendered.body, "details": details,
    }}, ensure_ascii=False, separators=(",", ":"))


class FanOut:
    """Turns each consumed event into inbox entries, live events and deliveries, idempotently."""

    def __init__(self, settings: Settings, store: Store, live: Broadcaster, wake_deliveries: Callable[[], None]):
        self._settings = settings
        self._store = store
        self._live = live
        self._wake_deliveries = wake_deliveries

    def consumer(self, producer: Producer) -> EventConsumer:
        return EventConsumer(self._settings, group_id=CONSUMER_GROUP, topics=CONSUMED_TOPICS,
                             dead_letter=topics.dead_letter(CONSUMER_GROUP), handler=self.handle, producer=producer)

    async def handle(self, event: CloudEvent, record: ConsumerRecord | None = None) -> None:
        data = event.data
        if isinstance(data, ParticipantData):
            await self._store.save_contact(data)
            return
        if isinstance(data, SessionData | RegistrationClosedData):
            await self._store.save_session(data if isinstance(data, SessionData) else data.session)
            return
        session_id = fanout.session_of(event)
        session = await self._store.session(session_id) if session_id else None
        names = await self._store.names(fanout.named_participants(event))
        for notice in fanout.notices(event, session=session, names=names):
            await self.dispatch(event.id, notice)

    async def _preferences(self, recipient: str) -> Effective:
        if recipient == OPERATOR_RECIPIENT:
            return operator_preferences(self._settings)
        record = await self._store.recipient(recipient)
        return effective(record.preferences, record.contact, webhook_disabled=record.webhook_disabled is not None)

    async def dispatch(self, event_id: str, notice: Notice) -> None:
        preferences = await self._preferences(notice.recipient)
        if not preferences.wants(notice):
            return
        rendered = render(notice.type, preferences.language, notice.context, self._settings.web_url)
        now = datetime.now(UTC)
        common = {"recipient": notice.recipient, "type": notice.type.value, "event_id": event_id,
                  "subject": rendered.subject, "created_at": now}
        if notice.recipient != OPERATOR_RECIPIENT:
            entry = {"_id": notification_id(event_id, notice.recipient, Channel.INBOX), **common,
                     "category": notice.type.category.value if notice.type.category else None,
                     "language": preferences.language.value, "body": rendered.body, "data": notice.context}
            if await self._store.add_to_inbox(entry):
                metrics.count(Channel.INBOX, "sent")
                self._live.notify(notice.recipient)
        for channel in preferences.push_channels():
            if channel is Channel.EMAIL and not self._settings.email_enabled:
                continue
            message_id = notification_id(event_id, notice.recipient, channel)
            if preferences.delivery is DeliveryMode.DIGEST:
                end = window_end(now, self._settings.digest_window_seconds)
                digest = {"_id": digest_id(notice.recipient, channel, end), "recipient": notice.recipient,
                          "channel": channel.value, "window_end": end,
                          "due_at": due_at(end, self._settings.digest_grace_seconds)}
                await self._store.add_digest_item(digest, {"_id": message_id, **common, "details": notice.context})
                continue
            payload = webhook_payload(notice.type.value, message_id, notice.recipient, rendered,
                                      preferences.language, notice.context, now)
            if await self._store.add_delivery({"_id": message_id, "channel": channel.value, **common,
                                               "body": rendered.body, "payload": payload, "due_at": now}):
                self._wake_deliveries()


async def publish_dead_letter(producer: Producer, settings: Settings, delivery: dict[str, Any], reason: str) -> None:
    """Put a message that will not be delivered on the dead-letter topic, with the reason;
    retries while Kafka is away (this runs in a delivery task, never in the consumer)."""
    headers = [(DLQ_REASON, reason.encode()[:1000]), ("dlq.consumer", b"notification-webhooks"),
               ("notification.channel", delivery["channel"].encode()),
               ("notification.recipient", delivery["recipient"].encode())]
    topic = DELIVERY_DEAD_LETTER.full_name(settings.topic_prefix)
    backoff = 0.2
    while True:
        try:
            await producer.send(topic, delivery["payload"].encode(), key=delivery["_id"], headers=headers)
            metrics.count(delivery["channel"], "dead_lettered")
            return
        except (KafkaError, OSError) as exc:
            log.warning("dead-letter topic unreachable (%s); retrying", exc)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5)
