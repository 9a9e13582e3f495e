"""Pollers of the due-time stores: deliveries (webhook and e-mail attempts, with retries that
never wait in the consumer and never hold up other recipients) and digests."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.errors import PyMongoError

from services.notification import metrics
from services.notification.channels import AttemptResult, EmailSender, RefusedUrl, WebhookSender
from services.notification.domain.delivery import (
    ErrorClass, RetryPolicy, Verdict, disabled_notice_context, retry_after_seconds, verdict,
)
from services.notification.domain.notices import OPERATOR_RECIPIENT, Channel, NotificationType, notification_id
from services.notification.domain.preferences import effective
from services.notification.domain.render import render
from services.notification.events import operator_preferences, publish_dead_letter, webhook_payload
from services.notification.settings import Settings
from services.notification.storage import DEAD, DELIVERED, PENDING, Store
from shared.kafka import Producer
from shared.service import woken

log = logging.getLogger(__name__)


class Undeliverable(Exception):
    """The recipient cannot be reached on this channel at all (switched off, refused URL, ...)."""


class DeliveryWorker:
    def __init__(self, settings: Settings, store: Store, producer: Producer):
        self._settings = settings
        self._store = store
        self._producer = producer
        self._webhooks = WebhookSender(settings)
        self._email = EmailSender(settings)
        self._policy = RetryPolicy(settings.webhook_max_attempts, settings.webhook_backoff_base_seconds,
                                   settings.webhook_backoff_max_seconds, settings.retry_after_max_seconds)
        self._wake = asyncio.Event()
        self._inflight: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        try:
            while True:
                self._wake.clear()
                free = self._settings.delivery_concurrency - len(self._inflight)
                if free > 0 and len(await self._start_due(free)) == free:
                    continue  # more may be due: claim again as soon as a slot frees
                await woken(self._wake, self._settings.delivery_poll_seconds)
        finally:
            for task in self._inflight:
                task.cancel()
            await asyncio.gather(*self._inflight, return_exceptions=True)
            await self._webhooks.close()

    async def _start_due(self, free: int) -> list[dict[str, Any]]:
        try:
            claimed = await self._store.claim_due(datetime.now(UTC), free, self._settings.delivery_lease_seconds)
        except PyMongoError as exc:
            log.warning("cannot claim deliveries yet: %s", exc)
            return []
        for delivery in claimed:
            task = asyncio.create_task(self._attempt(delivery), name=f"deliver {delivery['_id']}")
            self._inflight.add(task)
            task.add_done_callback(self._finished)
        return claimed

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # The lease runs out and the delivery is attempted again: nothing is lost.
            log.error("delivery attempt failed unexpectedly", exc_info=task.exception())
        self._wake.set()

    async def _attempt(self, delivery: dict[str, Any]) -> None:
        now = datetime.now(UTC)
        number = delivery["attempt_count"] + 1
        try:
            result = await self._send(delivery, now)
        except Undeliverable as exc:
            result = AttemptResult(None, str(exc), None, 0)
            await self._give_up(delivery, now, number, result, f"undeliverable: {exc}")
            return
        except RefusedUrl as exc:
            log.info("webhook %s refused: %s", delivery["_id"], exc)
            result = AttemptResult(None, ErrorClass.REFUSED_URL, None, 0)
            await self._give_up(delivery, now, number, result, f"undeliverable: {ErrorClass.REFUSED_URL}")
            return
        outcome = verdict(result.status_code)
        if outcome is Verdict.DELIVERED:
            metrics.count(delivery["channel"], "sent")
            await self._record(delivery, now, number, result, {"status": DELIVERED, "delivered_at": now})
            return
        metrics.count(delivery["channel"], "failed")
        if outcome is Verdict.GONE:
            if delivery["recipient"] != OPERATOR_RECIPIENT:
                await self._store.disable_webhook(delivery["recipient"], "endpoint answered 410 Gone", now)
            await self._give_up(delivery, now, number, result, "endpoint answered 410 Gone; webhook disabled")
            return
        delay = self._policy.delay(number, retry_after_seconds(result.retry_after, now=now))
        if delay is None:
            reason = f"gave up after {number} attempts: {result.error}"
            if delivery["channel"] == Channel.WEBHOOK and delivery["recipient"] != OPERATOR_RECIPIENT:
                await self._disable_failing_endpoint(delivery, now, number, result)
                reason += "; webhook disabled"
            await self._give_up(delivery, now, number, result, reason)
            return
        metrics.count(delivery["channel"], "retried")
        next_at = now + timedelta(seconds=delay)
        await self._record(delivery, now, number, result, {"status": PENDING, "due_at": next_at,
                                                           "last_error": result.error}, next_at=next_at)

    async def _send(self, delivery: dict[str, Any], now: datetime) -> AttemptResult:
        recipient, channel = delivery["recipient"], Channel(delivery["channel"])
        if recipient == OPERATOR_RECIPIENT:
            preferences = operator_preferences(self._settings)
            secret = self._settings.operator_webhook_secret
            webhook_secrets = [secret.get_secret_value()] if secret else []
        else:
            record = await self._store.recipient(recipient)
            if channel is Channel.WEBHOOK and record.webhook_disabled:
                raise Undeliverable(ErrorClass.DISABLED)
            preferences = effective(record.preferences, record.contact, webhook_disabled=False)
            webhook_secrets = record.webhook_secrets(now)
        if channel is Channel.EMAIL:
            if not (preferences.email and self._settings.email_enabled):
                raise Undeliverable(ErrorClass.SWITCHED_OFF)
            return await self._email.send(preferences.email, delivery["subject"], delivery["body"], delivery["_id"])
        if not (preferences.webhook_url and webhook_secrets):
            raise Undeliverable(ErrorClass.SWITCHED_OFF)
        return await self._webhooks.send(preferences.webhook_url, webhook_secrets, delivery["_id"],
                                         delivery["payload"], now)

    async def _disable_failing_endpoint(self, delivery: dict[str, Any], now: datetime, number: int,
                                        result: AttemptResult) -> None:
        """Every attempt of a message failed over the whole retry schedule (a day and more with the
        defaults): switch the endpoint off and tell its owner in the inbox and by e-mail. Saving
        the webhook settings again switches it back on."""
        recipient = delivery["recipient"]
        record = await self._store.recipient(recipient)
        preferences = effective(record.preferences, record.contact, webhook_disabled=False)
        attempts = delivery.get("attempts") or []
        first_at = attempts[0]["at"] if attempts else now
        await self._store.disable_webhook(recipient, f"no delivery succeeded in {number} attempts", now)
        context = disabled_notice_context(preferences.webhook_url or "-", attempts=number, first_attempt_at=first_at,
                                          last_attempt_at=now, last_error=result.error)
        rendered = render(NotificationType.WEBHOOK_DISABLED, preferences.language, context)
        event_id = f"webhook-disabled:{delivery['_id']}"
        common = {"recipient": recipient, "type": NotificationType.WEBHOOK_DISABLED.value, "event_id": event_id,
                  "subject": rendered.subject, "created_at": now}
        await self._store.add_to_inbox({"_id": notification_id(event_id, recipient, Channel.INBOX), **common,
                                        "category": None, "language": preferences.language.value,
                                        "body": rendered.body, "data": context})
        if preferences.email and self._settings.email_enabled:
            message_id = notification_id(event_id, recipient, Channel.EMAIL)
            payload = webhook_payload(NotificationType.WEBHOOK_DISABLED.value, message_id, recipient, rendered,
                                      preferences.language, context, now)
            await self._store.add_delivery({"_id": message_id, "channel": Channel.EMAIL.value, **common,
                                            "body": rendered.body, "payload": payload, "due_at": now})

    async def _give_up(self, delivery: dict[str, Any], now: datetime, number: int, result: AttemptResult,
                       reason: str) -> None:
        await publish_dead_letter(self._producer, self._settings, delivery, reason)
        await self._record(delivery, now, number, result, {"status": DEAD, "failed_at": now, "last_error": reason})

    async def _record(self, delivery: dict[str, Any], now: datetime, number: int, result: AttemptResult,
                      fields: dict[str, Any], *, next_at: datetime | None = None) -> None:
        attempt = {"number": number, "at": now, "status_code": result.status_code, "error": result.error,
                   "duration_ms": result.duration_ms, "retry_after": result.retry_after, "next_attempt_at": next_at}
        await self._store.record_attempt(delivery["_id"], delivery["lease"], attempt, fields)


class DigestWorker:
    """Sends each recipient's digest once its window has closed: one message per window and channel."""

    def __init__(self, settings: Settings, store: Store, delivery_worker: DeliveryWorker):
        self._settings = settings
        self._store = store
        self._deliveries = delivery_worker

    async def run(self) -> None:
        while True:
            try:
                await self.flush_due()
            except PyMongoError as exc:
                log.warning("cannot flush digests yet: %s", exc)
            await asyncio.sleep(self._settings.delivery_poll_seconds)

    async def flush_due(self) -> int:
        flushed = 0
        for digest in await self._store.due_digests(datetime.now(UTC)):
            items = await self._store.digest_items_of(digest["_id"])
            if items:
                await self._store.add_delivery(await self._digest_delivery(digest, items))
                self._deliveries.wake()
                flushed += 1
            await self._store.drop_digest(digest["_id"])
        return flushed

    async def _digest_delivery(self, digest: dict[str, Any], items: list[dict[str, Any]]) -> dict[str, Any]:
        recipient = digest["recipient"]
        record = await self._store.recipient(recipient)
        language = effective(record.preferences, record.contact, webhook_disabled=False).language
        end = digest["window_end"]
        listed = [{"id": i["_id"], "type": i["type"], "subject": i["subject"], "details": i.get("details", {})}
                  for i in items]
        rendered = render(NotificationType.DIGEST, language, {"items": listed, "window_end": end.isoformat()})
        message_id = notification_id(digest["_id"], recipient, digest["channel"])
        now = datetime.now(UTC)
        payload = webhook_payload(NotificationType.DIGEST.value, message_id, recipient, rendered, language,
                                  {"window_end": end.isoformat(), "items": listed}, now)
        return {"_id": message_id, "channel": digest["channel"], "recipient": recipient,
                "type": NotificationType.DIGEST.value, "event_id": digest["_id"], "subject": rendered.subject,
                "created_at": now, "body": rendered.body, "payload": payload, "due_at": now}
