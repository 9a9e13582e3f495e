"""Kafka adapter: the fan-out consumer (matches, consortia, agendas, registrations, alerts, plus
participants' contacts and sessions' titles) and the dead-letter topic of failed deliveries."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiokafka.errors import KafkaError

from services.notification import metrics
from services.notification.domain import fanout
from services.notification.domain.digest import digest_id, due_at, window_end
from services.notification.domain.notices import OPERATOR_RECIPIENT, Channel, Notice, notification_id
from services.notification.domain.preferences import DeliveryMode, Effective
from services.notification.domain.render import Rendered, render
from services.notification.live import Broadcaster
from services.notification.settings import Settings
from services.notification.storage import RecipientRecord, Store
from shared import topics
from shared.events import CloudEvent, new_event
from shared.events.common import Language
from shared.events.listing import ParticipantData
from shared.events.notification import WebhookDisabledData
from shared.events.sessions import RegistrationClosedData, SessionData
from shared.kafka import DLQ_REASON, EventConsumer, Producer

log = logging.getLogger(__name__)

SOURCE = "/services/notification"
CONSUMER_GROUP = "notification"
CONSUMED_TOPICS = (topics.MATCHES, topics.CONSORTIA, topics.AGENDAS, topics.SESSIONS, topics.ALERTS,
                   topics.PARTICIPANTS, topics.NOTIFICATION_NOTICES)
DELIVERY_DEAD_LETTER = topics.dead_letter("notification-webhooks")
# Records per fetch handed to the fan-out in one call: its writes are a handful of bulk commands
# whatever the number, and what it pays per recipient (a tip inserted, its newest bucket copied
# forward) is paid once per fetch, however many notices the recipient gets in it.
FETCH_RECORDS = 2000


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


class Scheduler(Protocol):
    """A due-time queue kept in memory (the delivery and digest workers)."""

    def schedule(self, documents: list[dict[str, Any]]) -> None: ...


@dataclass
class Writes:
    """What one batch of events adds: inbox entries, deliveries and digest items."""
    inbox: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    digest_items: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)


class FanOut:
    """Turns each fetch of events into inbox entries, live events and deliveries, idempotently, in
    a few bulk commands per fetch. A recipient's notices come from every partition, which the
    replicas' consumers share: the inbox is written by inserts whose unique ``_id``s number its
    entries (``Store.write_entries``), so two writers of one inbox never give a number twice and no
    lock is held."""

    def __init__(self, settings: Settings, store: Store, live: Broadcaster, deliveries: Scheduler,
                 digests: Scheduler):
        self._settings = settings
        self._store = store
        self._live = live
        self._deliveries = deliveries
        self._digests = digests

    def consumer(self, producer: Producer) -> EventConsumer:
        return EventConsumer(self._settings, group_id=CONSUMER_GROUP, topics=CONSUMED_TOPICS,
                             dead_letter=topics.dead_letter(CONSUMER_GROUP), batch_handler=self.handle_batch,
                             producer=producer, max_records=FETCH_RECORDS)

    async def handle_batch(self, events: list[CloudEvent]) -> None:
        contacts = [e.data for e in events if isinstance(e.data, ParticipantData)]
        sessions = [e.data if isinstance(e.data, SessionData) else e.data.session
                    for e in events if isinstance(e.data, SessionData | RegistrationClosedData)]
        await asyncio.gather(self._store.save_contacts(contacts), self._store.save_sessions(sessions))
        await self._store.refresh_known_recipients()
        # What the notices need is read once for the whole fetch: the participants they name, the
        # sessions they are about, then the preferences of their recipients.
        noticing = [e for e in events if fanout.notification_type(e.type) is not None]
        session_ids = sorted({s for e in noticing if (s := fanout.session_of(e))})
        found, named = await asyncio.gather(
            asyncio.gather(*map(self._store.session, session_ids)),
            self._store.names({p for e in noticing for p in fanout.named_participants(e)}))
        known_sessions = dict(zip(session_ids, found, strict=True))
        noticed = [(event, fanout.notices(event, session=known_sessions.get(fanout.session_of(event) or ""),
                                          names=named)) for event in noticing]
        recipients = {n.recipient for _, notices in noticed for n in notices}
        known = await self._store.known_recipients(recipients - {OPERATOR_RECIPIENT})
        preferences = {r: self._preferences(r, known.get(r)) for r in recipients}
        writes = Writes()
        now = datetime.now(UTC)
        for event, notices in noticed:
            for notice in notices:
                self._plan(writes, event.id, notice, preferences[notice.recipient], now)
        # The inbox, the deliveries and the digests are written side by side, none waiting on another.
        await asyncio.gather(self._write_inbox(writes.inbox), self._write_deliveries(writes.deliveries),
                             self._write_digests(writes.digest_items))

    def _preferences(self, recipient: str, record: RecipientRecord | None) -> Effective:
        if record is None:  # the operator
            return operator_preferences(self._settings)
        return record.wants

    def _plan(self, writes: Writes, event_id: str, notice: Notice, preferences: Effective, now: datetime) -> None:
        if not preferences.wants(notice):
            return
        rendered = render(notice.type, preferences.language, notice.context, self._settings.web_url)
        common = {"recipient": notice.recipient, "type": notice.type.value, "event_id": event_id,
                  "subject": rendered.subject, "created_at": now}
        if notice.recipient != OPERATOR_RECIPIENT:
            writes.inbox.append({"notification": notification_id(event_id, notice.recipient, Channel.INBOX), **common,
                                 "category": notice.type.category.value if notice.type.category else None,
                                 "language": preferences.language.value, "body": rendered.body,
                                 "data": notice.context})
        for channel in preferences.push_channels():
            if channel is Channel.EMAIL and not self._settings.email_enabled:
                continue
            message_id = notification_id(event_id, notice.recipient, channel)
            if preferences.delivery is DeliveryMode.DIGEST:
                end = window_end(now, self._settings.digest_window_seconds)
                digest = {"_id": digest_id(notice.recipient, channel, end), "recipient": notice.recipient,
                          "channel": channel.value, "window_end": end,
                          "due_at": due_at(end, self._settings.digest_grace_seconds)}
                writes.digest_items.append((digest, {"_id": message_id, **common, "details": notice.context}))
                continue
            payload = webhook_payload(notice.type.value, message_id, notice.recipient, rendered,
                                      preferences.language, notice.context, now)
            writes.deliveries.append({"_id": message_id, "channel": channel.value, **common,
                                      "body": rendered.body, "payload": payload, "due_at": now})

    async def _write_inbox(self, entries: list[dict[str, Any]]) -> None:
        if not entries:
            return
        for recipient, added in (await self._store.write_entries(entries)).items():
            metrics.count(Channel.INBOX, "sent", added)
            self._live.notify(recipient)

    async def _write_deliveries(self, deliveries: list[dict[str, Any]]) -> None:
        if deliveries:  # stored claimed: their first attempts need no claim (DeliveryWorker)
            claim = timedelta(seconds=self._settings.delivery_lease_seconds)
            self._deliveries.schedule(await self._store.add_deliveries(deliveries, claimed_for=claim))

    async def _write_digests(self, items: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
        if items:
            await self._store.add_digest_items(items)
            self._digests.schedule(list({digest["_id"]: digest for digest, _ in items}.values()))


async def publish_dead_letter(producer: Producer, settings: Settings, delivery: dict[str, Any], reason: str) -> None:
    """Put a message that will not be delivered on the dead-letter topic, with the reason;
    retries while Kafka is away (this runs in a delivery task, never in the consumer)."""
    headers = [(DLQ_REASON, reason.encode()[:1000]), ("dlq.consumer", b"notification-webhooks"),
               ("notification.channel", delivery["channel"].encode()),
               ("notification.recipient", delivery["recipient"].encode())]
    topic = DELIVERY_DEAD_LETTER.full_name(settings.topic_prefix)
    await _until_sent(lambda: producer.send(topic, delivery["payload"].encode(), key=delivery["_id"], headers=headers),
                      "dead-letter topic")
    metrics.count(delivery["channel"], "dead_lettered")


async def publish_webhook_disabled(producer: Producer, settings: Settings, data: WebhookDisabledData,
                                   delivery_id: str) -> None:
    """Tell the endpoint's owner through the fan-out consumer, the one writer of inboxes. The event
    id follows from the delivery, so a retried publish is one notice."""
    event = new_event("webhook.disabled.v1", data, source=SOURCE, subject=data.participant_id,
                      event_id=f"webhook-disabled:{delivery_id}")
    topic = topics.NOTIFICATION_NOTICES.full_name(settings.topic_prefix)
    await _until_sent(lambda: producer.send_event(topic, event, key=data.participant_id), "notices topic")


async def _until_sent(send: Callable[[], Awaitable[None]], what: str) -> None:
    """Retry while Kafka is away (this runs in a delivery task, never in the consumer)."""
    backoff = 0.2
    while True:
        try:
            await send()
            return
        except (KafkaError, OSError) as exc:
            log.warning("%s unreachable (%s); retrying", what, exc)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5)
