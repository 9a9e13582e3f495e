"""HTTP routes: preferences, inbox, live stream (SSE), delivery logs and operators' replays."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, status
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sse_starlette import EventSourceResponse

from services.notification import metrics
from services.notification.channels import refused_url
from services.notification.domain import inbox
from services.notification.domain.notices import Channel
from services.notification.domain.preferences import (
    Preferences,
    PreferencesUpdate,
    effective,
    needs_new_secret,
    new_webhook_secret,
    problems,
)
from services.notification.live import Broadcaster
from services.notification.settings import Settings
from services.notification.storage import Store
from shared.api.pagination import Page, PageParams, decode_cursor, encode_cursor, issue_scoped_cursor, page_params
from shared.api.security import Operator, Participant
from shared.auth import Principal
from shared.events.common import Language
from shared.moments import to_utc
from shared.service import woken

router = APIRouter()


async def _store(request: Request) -> Store:
    return request.app.state.store


StoreDep = Annotated[Store, Depends(_store)]


def _unprocessable(loc: list[str], msg: str) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                         detail=[{"loc": loc, "msg": msg, "type": "value_error"}])


def _not_found(what: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail=what)


def _is_seq(value: object) -> bool:
    """An inbox sequence number: MongoDB stores at most 8-byte integers, so a larger one is a 422, not a 500."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63


def _as_int(text: str) -> int | None:
    """ASCII digits only: ``str.isdigit`` also accepts characters such as "²" that ``int`` refuses."""
    return int(text) if text.isascii() and text.isdigit() else None


# --- preferences ---------------------------------------------------------------------------------

class WebhookStatus(BaseModel):
    secret_set: bool
    disabled_at: datetime | None = None
    disabled_reason: str | None = None


class PreferencesView(BaseModel):
    preferences: Preferences
    language: Language = Field(description="The language notifications are written in")
    webhook: WebhookStatus
    webhook_secret: str | None = Field(None, description="Only in the answer that created it: store it now")


@router.get("/me/preferences", response_model=PreferencesView, tags=["preferences"])
async def get_preferences(principal: Participant, store: StoreDep) -> PreferencesView:
    return await _preferences_view(store, principal.subject)


@router.put("/me/preferences", response_model=PreferencesView, tags=["preferences"])
async def put_preferences(update: PreferencesUpdate, principal: Participant, store: StoreDep,
                          request: Request) -> PreferencesView:
    settings: Settings = request.app.state.settings
    record = await store.recipient(principal.subject)
    errors = problems(update, record.contact)
    if errors:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=errors)
    webhook = update.channels.webhook
    url = str(webhook.url) if webhook.url else record.contact.webhook_url
    if webhook.enabled and url:
        refusal = await refused_url(url, allow_private=settings.allow_private_webhooks)
        if refusal:
            raise _unprocessable(["body", "channels", "webhook", "url"],
                                 f"webhook URL refused / 不接受该 webhook 地址: {refusal}")
    secret = new_webhook_secret() if needs_new_secret(update, record.webhook_secret) else None
    await store.save_preferences(principal.subject, update.preferences(), new_secret=secret, now=datetime.now(UTC))
    view = await _preferences_view(store, principal.subject)
    return view.model_copy(update={"webhook_secret": secret})


async def _preferences_view(store: Store, participant_id: str) -> PreferencesView:
    record = await store.recipient(participant_id)
    disabled = record.webhook_disabled or {}
    return PreferencesView(
        preferences=record.preferences or Preferences(),
        language=effective(record.preferences, record.contact, webhook_disabled=False).language,
        webhook=WebhookStatus(secret_set=record.webhook_secret is not None, disabled_at=disabled.get("at"),
                              disabled_reason=disabled.get("reason")),
    )


# --- inbox -----------------------------------------------------------------------------------------

class InboxEntry(BaseModel):
    id: str
    seq: int
    type: str
    category: str | None
    language: str
    subject: str
    body: str
    data: dict[str, Any]
    created_at: datetime
    read: bool
    archived: bool

    @classmethod
    def of(cls, document: dict[str, Any]) -> InboxEntry:
        return cls(id=document["notification"], **{k: document[k] for k in cls.model_fields if k != "id"})


class UnreadCount(BaseModel):
    unread: int


@router.get("/inbox", response_model=Page[InboxEntry], tags=["inbox"])
async def list_inbox(principal: Participant, store: StoreDep, page: Annotated[PageParams, Depends(page_params)],
                     unread: bool = False, archived: bool = False) -> Page[InboxEntry]:
    """Newest first. ``unread=true`` lists only unread entries; ``archived=true`` the archive.
    A page reads a bounded number of entries: when the filter skips many, it holds fewer than
    ``limit`` and ``next_cursor`` goes on from where it stopped."""
    me, view = principal.subject, inbox.view_code(unread=unread, archived=archived)
    head = await store.inbox_head(me)

    async def shown(numbers: range) -> list[dict[str, Any]]:
        return [e for e in await store.slots(me, numbers, head) if inbox.shown(e, unread=unread, archived=archived)]

    entries, cursor = await _numbered_page(me, view, head.seq, page, shown)
    return Page(items=[InboxEntry.of(e) for e in entries], next_cursor=cursor)


Documents = list[dict[str, Any]]


async def _numbered_page(me: str, view: str, newest: int, page: PageParams,
                         shown: Callable[[range], Awaitable[Documents]], *,
                         filtered: bool = True) -> tuple[Documents, str | None]:
    """A page of a participant's numbered list (inbox, deliveries) downwards from the cursor or the
    newest number: the documents ``shown`` of at most ``inbox.scan_budget`` numbers read, and the
    next page's cursor. Without a filter (``filtered`` False) no more numbers are read than the
    page wants: each costs look-ups of its own (a delivery's slot and document)."""
    at = newest
    if page.cursor is not None:
        cursor = inbox.parse_cursor(decode_cursor(page.cursor), recipient=me, view=view, head_seq=newest)
        if isinstance(cursor, str):
            raise _unprocessable(["query", "cursor"], cursor)
        at = cursor
    entries: list[dict[str, Any]] = []
    budget = inbox.scan_budget(page.limit)
    while at > 0 and budget > 0 and len(entries) <= page.limit:
        numbers = inbox.window(at, page.limit + 1 - len(entries), budget, filtered=filtered)
        entries += await shown(numbers)
        at, budget = at - len(numbers), budget - len(numbers)
    if len(entries) > page.limit:
        entries = entries[:page.limit]
        at = entries[-1]["seq"] - 1
    return entries, issue_scoped_cursor(me, view, at) if at > 0 else None


@router.get("/inbox/unread-count", response_model=UnreadCount, tags=["inbox"])
async def unread_count(principal: Participant, store: StoreDep) -> UnreadCount:
    return UnreadCount(unread=await store.unread_count(principal.subject))


async def _mark(store: Store, principal: Principal, notification_id: str, fields: dict[str, Any]) -> InboxEntry:
    document = await store.mark(principal.subject, notification_id, fields)
    if document is None:
        raise _not_found(f"no notification {notification_id} in your inbox / 收件箱中没有该通知")
    return InboxEntry.of(document)


@router.post("/inbox/{notification_id}/read", response_model=InboxEntry, tags=["inbox"])
async def mark_read(notification_id: str, principal: Participant, store: StoreDep) -> InboxEntry:
    return await _mark(store, principal, notification_id, {"read": True, "read_at": datetime.now(UTC)})


@router.post("/inbox/{notification_id}/archive", response_model=InboxEntry, tags=["inbox"])
async def archive(notification_id: str, principal: Participant, store: StoreDep) -> InboxEntry:
    return await _mark(store, principal, notification_id, {"archived": True, "archived_at": datetime.now(UTC)})


# --- live stream -------------------------------------------------------------------------------------

@router.get("/stream", tags=["inbox"], response_class=EventSourceResponse,
            responses={200: {"content": {"text/event-stream": {}}}})
async def stream(request: Request, principal: Participant, store: StoreDep,
                 last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None) -> EventSourceResponse:
    """Server-Sent Events of new inbox entries; the event id is the entry's ``seq``, so a client
    reconnecting with ``Last-Event-ID`` gets exactly what it missed."""
    if last_event_id is not None and not _is_seq(_as_int(last_event_id.strip())):
        raise _unprocessable(["header", "Last-Event-ID"], "must be the id of an event from this stream (an integer)")
    record = await store.recipient(principal.subject)
    if record.preferences is not None and not record.preferences.channels.stream:
        raise HTTPException(status.HTTP_409_CONFLICT,
                            detail="the live stream is switched off in your preferences / 实时推送已在偏好设置中关闭")
    start = (int(last_event_id) if last_event_id is not None
             else (await store.inbox_head(principal.subject, entries=False)).seq)
    settings: Settings = request.app.state.settings
    live: Broadcaster = request.app.state.live
    return EventSourceResponse(_inbox_events(store, live, principal.subject, start, settings.stream_poll_seconds),
                               ping=int(settings.stream_ping_seconds))


STREAM_BATCH = 100  # entries read per look at the inbox


async def _inbox_events(store: Store, live: Broadcaster, recipient: str, after: int, poll_seconds: float):
    with live.listen(recipient) as wake:
        while True:
            wake.clear()
            head = await store.inbox_head(recipient)
            entries = await store.slots(recipient, range(after + 1, min(head.seq, after + STREAM_BATCH) + 1), head)
            if not entries:
                after = max(after, min(head.seq, after + STREAM_BATCH))  # numbers never written: a gap
            for document in reversed(entries):
                after = document["seq"]
                metrics.count(Channel.STREAM, "sent")
                yield {"id": str(after), "event": document["type"],
                       "data": InboxEntry.of(document).model_dump_json()}
            if entries:
                continue
            await woken(wake, poll_seconds)


# --- delivery logs and replays -------------------------------------------------------------------------

class Attempt(BaseModel):
    number: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int
    retry_after: str | None = None
    next_attempt_at: datetime | None = None


class DeliveryLog(BaseModel):
    id: str
    recipient: str
    channel: str
    type: str
    subject: str
    status: str
    attempt_count: int
    created_at: datetime
    due_at: datetime
    failed_at: datetime | None = None
    last_error: str | None = None
    attempts: list[Attempt] = []

    @classmethod
    def of(cls, document: dict[str, Any]) -> DeliveryLog:
        return cls(id=document["_id"], **{k: document.get(k) for k in cls.model_fields if k != "id"})


class ReplaySince(BaseModel):
    model_config = ConfigDict(extra="forbid")
    since: Annotated[datetime, AfterValidator(to_utc)] = Field(
        description="Replay every delivery that failed for good at or after this time")


class Replayed(BaseModel):
    replayed: int


DeliveryStatus = Literal["pending", "delivered", "dead"]


@router.get("/me/deliveries", response_model=Page[DeliveryLog], tags=["deliveries"])
async def my_deliveries(principal: Participant, store: StoreDep, page: Annotated[PageParams, Depends(page_params)],
                        delivery_status: Annotated[DeliveryStatus | None, Query(alias="status")] = None,
                        ) -> Page[DeliveryLog]:
    """My webhook and e-mail deliveries, newest first (我的投递记录), each with its attempts' status
    classes; ``status`` lists only pending, delivered or dead ones. A page reads a bounded number
    of deliveries: when the filter skips many, it holds fewer than ``limit`` and ``next_cursor``
    goes on from where it stopped."""
    me = principal.subject

    async def shown(numbers: range) -> list[dict[str, Any]]:
        return [d for d in await store.my_deliveries(me, numbers) if delivery_status in (None, d["status"])]

    found, cursor = await _numbered_page(me, delivery_status or "all", await store.delivery_head(me), page, shown,
                                         filtered=delivery_status is not None)
    return Page(items=[DeliveryLog.of(d) for d in found], next_cursor=cursor)


@router.get("/me/deliveries/{notification_id}", response_model=DeliveryLog, tags=["deliveries"])
async def my_delivery(notification_id: str, principal: Participant, store: StoreDep) -> DeliveryLog:
    document = await store.delivery(notification_id)
    if document is None or document["recipient"] != principal.subject:
        raise _not_found(f"no delivery {notification_id} of yours / 没有该投递记录")
    return DeliveryLog.of(document)


@router.get("/operator/deliveries", response_model=Page[DeliveryLog], tags=["operator"])
async def list_deliveries(_: Operator, store: StoreDep, page: Annotated[PageParams, Depends(page_params)],
                          delivery_status: Annotated[DeliveryStatus | None, Query(alias="status")] = None,
                          ) -> Page[DeliveryLog]:
    cursor = decode_cursor(page.cursor)
    if cursor is not None and not isinstance(cursor[0], str):
        raise _unprocessable(["query", "cursor"], "invalid cursor")
    documents = await store.deliveries_page(delivery_status, cursor[0] if cursor else None, page.limit + 1)
    more = len(documents) > page.limit
    documents = documents[:page.limit]
    return Page(items=[DeliveryLog.of(d) for d in documents],
                next_cursor=encode_cursor([documents[-1]["_id"]]) if more else None)


@router.get("/operator/deliveries/{notification_id}", response_model=DeliveryLog, tags=["operator"])
async def delivery_log(notification_id: str, _: Operator, store: StoreDep) -> DeliveryLog:
    document = await store.delivery(notification_id)
    if document is None:
        raise _not_found(f"no delivery {notification_id} / 没有该投递记录")
    return DeliveryLog.of(document)


@router.post("/operator/deliveries/{notification_id}/replay", response_model=Replayed,
             status_code=status.HTTP_202_ACCEPTED, tags=["operator"])
async def replay_one(notification_id: str, _: Operator, store: StoreDep, request: Request) -> Replayed:
    delivery = await store.delivery(notification_id)
    if delivery is None:
        raise _not_found(f"no delivery {notification_id} / 没有该投递记录")
    now = datetime.now(UTC)
    if not await store.replay(notification_id, now):
        raise HTTPException(status.HTTP_409_CONFLICT, detail="this delivery is still pending / 该消息仍在投递中")
    request.app.state.deliveries.schedule([{**delivery, "due_at": now}])
    return Replayed(replayed=1)


@router.post("/operator/deliveries/replay", response_model=Replayed, status_code=status.HTTP_202_ACCEPTED,
             tags=["operator"])
async def replay_failed(body: ReplaySince, _: Operator, store: StoreDep, request: Request) -> Replayed:
    now = datetime.now(UTC)
    replayed = await store.replay_failed_since(body.since, now)
    request.app.state.deliveries.schedule(replayed)
    return Replayed(replayed=len(replayed))
