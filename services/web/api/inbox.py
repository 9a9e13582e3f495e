"""Routes of a participant's inbox (entries, marking read, the live unread count) and their
notification settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sse_starlette.sse import EventSourceResponse

from services.web.apis import ApiError, Unavailable
from services.web.api.common import Refused, Who, apis, back_to, form_of, pages, submit, token_of
from services.web.domain import views

router = APIRouter()
PAGE = 20  # entries on a page


@router.get("/inbox")
async def inbox(request: Request, who: Who, cursor: str = "", back: str = "") -> Response:
    """The newest entries, PAGE at a time (the notification service's cursors; see ``views.paging``)."""
    answer = await apis(request).inbox(token_of(who), limit=PAGE, **({"cursor": cursor} if cursor else {}))
    where = views.paging("/inbox", cursor, back, answer.get("next_cursor"), len(answer["items"]), 0, PAGE)
    return pages(request).render(request, who, "inbox.html", entries=[views.inbox_entry(e) for e in answer["items"]],
                                 paging=where, here=request.url.path + (f"?{request.url.query}" if cursor else ""))


@router.post("/inbox/{notification_id}/read")
async def mark_read(notification_id: str, request: Request, who: Who) -> Response:
    token = token_of(who)
    await form_of(request)
    await apis(request).mark_read(token, notification_id)
    return back_to("/inbox")


@router.get("/inbox/stream")
async def inbox_stream(request: Request, who: Who) -> Response:
    """The unread count, live: the notification service's stream relayed as ``unread`` events,
    each sent when an entry arrives (the browser cannot send the token itself to that service)."""
    token = token_of(who)
    service = apis(request)

    async def counts() -> AsyncIterator[dict[str, Any]]:
        # A browser reconnects by itself; when the stream is refused (switched off in the
        # preferences, a token that expired) it waits a minute rather than the default 3 s.
        try:
            yield {"event": "unread", "data": str(await service.unread(token)), "retry": 60_000}
            async with service.stream(token, None) as upstream:
                async for line in upstream.aiter_lines():
                    if line.startswith("data:"):
                        yield {"event": "unread", "data": str(await service.unread(token))}
        except (ApiError, Unavailable):
            return

    return EventSourceResponse(counts(), ping=15)


@router.get("/preferences")
async def preferences_page(request: Request, who: Who) -> Response:
    view = await apis(request).preferences(token_of(who))
    return pages(request).render(request, who, "preferences.html", values=views.preference_values(view), errors={},
                                 webhook=view["webhook"], secret=None, saved=False)


@router.post("/preferences")
async def save_preferences(request: Request, who: Who) -> Response:
    token = token_of(who)
    parsed = views.preferences_form(await form_of(request), who.language)
    outcome = await submit(lambda: apis(request).put_preferences(token, views.preferences_body(parsed.values)),
                           parsed.errors, who.language, to_form=views.preference_errors)
    if isinstance(outcome, Refused):
        return pages(request).render(request, who, "preferences.html", status_code=outcome.status,
                                     values=parsed.values, errors=outcome.errors, webhook={"disabled_at": None},
                                     secret=None, saved=False)
    return pages(request).render(request, who, "preferences.html", values=views.preference_values(outcome),
                                 errors={}, webhook=outcome["webhook"], secret=outcome.get("webhook_secret"),
                                 saved=True)
