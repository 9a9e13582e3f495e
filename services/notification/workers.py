"""Workers of the due-time stores: deliveries (webhook and e-mail attempts, with retries that
never wait in the consumer and never hold up other recipients) and digests.

What is due when is kept in memory (a heap): the store is scanned once, when a worker starts, and
after that only looked up by ``_id`` (FerretDB v1 answers any other filter by scanning the whole
collection, which a poll every second would do forever). The fan-out, the retries and operators'
replays put what they store on the heap. Replicas each read every pending delivery when they
start; a delivery is attempted under its lock, held across processes, so by one of them."""

from __future__ import annotations

import asyncio
import heapq
import logging
import itertools
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
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
from services.notification.events import (
    operator_preferences, publish_dead_letter, publish_webhook_disabled, webhook_payload,
)
from services.notification.settings import Settings
from services.notification.storage import DEAD, DELIVERED, PENDING, SCHEDULED, Store
from shared.events.notification import WebhookDisabledData
from shared.kafka import Producer
from shared.locks import LEASE_SECONDS
from shared.service import woken

log = logging.getLogger(__name__)


class Undeliverable(Exception):
    """The recipient cannot be reached on this channel at all (switched off, refused URL, ...)."""


class DueQueue:
    """Ids by due time, soonest first; an id scheduled twice is tried twice, and the store's
    guarded ``_id`` look-up makes the second try a no-op."""

    def __init__(self) -> None:
        self._heap: list[tuple[datetime, int, dict[str, Any]]] = []
        self._order = itertools.count()  # ties in due time go first come, first served

    def push(self, document: dict[str, Any]) -> None:
        heapq.heappush(self._heap, (document["due_at"], next(self._order), document))

    def pop_due(self, now: datetime) -> dict[str, Any] | None:
        return heapq.heappop(self._heap)[2] if self._heap and self._heap[0][0] <= now else None

    def seconds_to_next(self, now: datetime, ceiling: float) -> float:
        return min(ceiling, max(0.0, (self._heap[0][0] - now).total_seconds())) if self._heap else ceiling


def endpoint_of(delivery: dict[str, Any]) -> str:
    """Deliveries sharing a receiver: a recipient's webhook URL, or the one SMTP server."""
    return "email" if delivery["channel"] == Channel.EMAIL else f"{delivery['channel']}:{delivery['recipient']}"


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
        self._due = DueQueue()
        self._inflight: dict[asyncio.Task[None], dict[str, Any]] = {}
        self._per_endpoint: dict[str, int] = defaultdict(int)
        self._waiting: dict[str, deque[dict[str, Any]]] = defaultdict(deque)

    def schedule(self, deliveries: list[dict[str, Any]]) -> None:
        """Attempt these stored deliveries (``_id``, ``due_at``, ``recipient``, ``channel``) when due."""
        for delivery in deliveries:
            self._due.push(delivery)
        if deliveries:
            self._wake.set()

    async def run(self) -> None:
        try:
            self.schedule(await _read_at_start(self._store.pending_deliveries, "pending deliveries"))
            while True:
                self._wake.clear()
                self._start_due()
                await woken(self._wake, self._due.seconds_to_next(datetime.now(UTC),
                                                                  self._settings.delivery_poll_seconds))
        finally:
            for task in self._inflight:
                task.cancel()
            await asyncio.gather(*self._inflight, return_exceptions=True)
            await self._store.stop_recording()
            await self._webhooks.close()

    def _start_due(self) -> None:
        now = datetime.now(UTC)
        while len(self._inflight) < self._settings.delivery_concurrency:
            due = self._due.pop_due(now)
            if due is None:
                return
            endpoint = endpoint_of(due)
            if self._per_endpoint[endpoint] >= self._settings.endpoint_concurrency:
                self._waiting[endpoint].append(due)  # its turn comes when one of the endpoint's ends
                continue
            self._per_endpoint[endpoint] += 1
            task = asyncio.create_task(self._claim_and_attempt(due, now), name=f"deliver {due['_id']}")
            self._inflight[task] = due
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        due = self._inflight.pop(task)
        endpoint = endpoint_of(due)
        self._per_endpoint[endpoint] -= 1
        if self._waiting[endpoint]:
            self._due.push(self._waiting[endpoint].popleft())
        if not self._waiting[endpoint]:
            del self._waiting[endpoint]
        if not self._per_endpoint[endpoint]:
            del self._per_endpoint[endpoint]
        if not task.cancelled() and task.exception() is not None:
            # Tried again once the lease runs out: nothing is lost.
            log.error("delivery attempt failed unexpectedly", exc_info=task.exception())
            lease_end = datetime.now(UTC) + timedelta(seconds=self._settings.delivery_lease_seconds)
            self._due.push(_scheduled(due, lease_end))
        self._wake.set()

    async def _claim_and_attempt(self, due: dict[str, Any], now: datetime) -> None:
        """Attempt a delivery this process stored claimed (its first attempt: ``add_deliveries``
        with ``claimed_for``, the fan-out's and the digests') at once; claim any other and attempt
        it, under its lock (a lease in the store, shared/locks.py):
        one replica attempts a delivery that several have scheduled (each reads every pending one
        when it starts), the others leave it and look again once that attempt's claim would have
        run out, when they find it delivered or due later (nothing to do), or due if its holder died."""
        if due.get("lease"):  # stored claimed by this process: no other attempts it before the claim runs out
            claim_end = due["due_at"] + timedelta(seconds=self._settings.delivery_lease_seconds)
            if now + timedelta(seconds=self._settings.webhook_timeout_seconds) < claim_end:
                await self._attempt(due)
            else:  # waited here until its claim nearly ran out: claimed again once it has
                self.schedule([_scheduled(due, claim_end + timedelta(seconds=LEASE_SECONDS))])
            return
        async with self._store.locks.hold_if_free(("delivery", due["_id"])) as held:
            if not held:
                later = datetime.now(UTC) + timedelta(seconds=self._settings.delivery_lease_seconds + LEASE_SECONDS)
                self.schedule([_scheduled(due, later)])
                return
            delivery = await self._store.claim(due["_id"], now, self._settings.delivery_lease_seconds)
            if delivery is not None:  # else delivered, given up, or due later already
                await self._attempt(delivery)

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
        # A receiver's Retry-After counts from its answer, not from when the request was started.
        answered = datetime.now(UTC)
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
        delay = self._policy.delay(number, retry_after_seconds(result.retry_after, now=answered))
        if delay is None:
            reason = f"gave up after {number} attempts: {result.error}"
            if delivery["channel"] == Channel.WEBHOOK and delivery["recipient"] != OPERATOR_RECIPIENT:
                await self._disable_failing_endpoint(delivery, now, number, result)
                reason += "; webhook disabled"
            await self._give_up(delivery, now, number, result, reason)
            return
        metrics.count(delivery["channel"], "retried")
        next_at = answered + timedelta(seconds=delay)
        await self._record(delivery, now, number, result, {"status": PENDING, "due_at": next_at,
                                                           "last_error": result.error}, next_at=next_at)
        self.schedule([_scheduled(delivery, next_at)])

    async def _send(self, delivery: dict[str, Any], now: datetime) -> AttemptResult:
        recipient, channel = delivery["recipient"], Channel(delivery["channel"])
        if recipient == OPERATOR_RECIPIENT:
            preferences = operator_preferences(self._settings)
            secret = self._settings.operator_webhook_secret
            webhook_secrets = [secret.get_secret_value()] if secret else []
        else:
            record = await self._store.current_recipient(recipient)
            if channel is Channel.WEBHOOK and record.webhook_disabled:
                raise Undeliverable(ErrorClass.DISABLED)
            preferences = record.wants_regardless_of_disabled
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
        defaults): switch the endpoint off and tell its owner (inbox, and e-mail if they take it)
        through the fan-out consumer. Saving the webhook settings again switches it back on."""
        recipient = delivery["recipient"]
        record = await self._store.recipient(recipient)
        preferences = effective(record.preferences, record.contact, webhook_disabled=False)
        attempts = delivery.get("attempts") or []
        first_at = attempts[0]["at"] if attempts else now
        await self._store.disable_webhook(recipient, f"no delivery succeeded in {number} attempts", now)
        context = disabled_notice_context(preferences.webhook_url or "-", attempts=number, first_attempt_at=first_at,
                                          last_attempt_at=now, last_error=result.error)
        await publish_webhook_disabled(self._producer, self._settings,
                                       WebhookDisabledData(participant_id=recipient, **context), delivery["_id"])

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
        self._due = DueQueue()
        self._wake = asyncio.Event()

    def schedule(self, digests: list[dict[str, Any]]) -> None:
        """Send these stored digests (``_id``, ``due_at``) when due."""
        for digest in digests:
            self._due.push(digest)
        if digests:
            self._wake.set()

    async def run(self) -> None:
        self.schedule(await _read_at_start(self._store.pending_digests, "pending digests"))
        while True:
            self._wake.clear()
            try:
                await self.flush_due()
            except PyMongoError as exc:
                log.warning("cannot flush digests yet: %s", exc)
                await asyncio.sleep(self._settings.delivery_poll_seconds)
            await woken(self._wake, self._due.seconds_to_next(datetime.now(UTC), self._settings.delivery_poll_seconds))

    async def flush_due(self) -> int:
        flushed = 0
        while (due := self._due.pop_due(datetime.now(UTC))) is not None:
            try:
                digest = await self._store.digest(due["_id"])
                if digest is not None and digest.get("items"):
                    delivery = await self._digest_delivery(digest, digest["items"])
                    claim = timedelta(seconds=self._settings.delivery_lease_seconds)
                    self._deliveries.schedule(await self._store.add_deliveries([delivery], claimed_for=claim))
                    flushed += 1
                if digest is not None:
                    await self._store.drop_digest(due["_id"])
            except PyMongoError:
                self._due.push(due)  # tried again on the next round
                raise
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


def _scheduled(delivery: dict[str, Any], due_at: datetime) -> dict[str, Any]:
    """What the schedule keeps of a delivery to be claimed at ``due_at`` (never its old claim)."""
    return {**{k: delivery[k] for k in SCHEDULED}, "due_at": due_at}


async def _read_at_start(read: Callable[[], Awaitable[list[dict[str, Any]]]], what: str) -> list[dict[str, Any]]:
    """The one scan a worker makes, when it starts: retried until the store answers."""
    backoff = 0.2
    while True:
        try:
            return await read()
        except PyMongoError as exc:
            log.warning("cannot read %s yet: %s", what, exc)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5)
