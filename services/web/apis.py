"""The services' public HTTP APIs, called as any client would (httpx, a bearer token); the web
app's only adapter to the outside, as ``storage.py`` is for the other services."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

import httpx
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.web.domain.round_trips import Call, server_timing
from services.web.settings import Settings

# The calls to the services made while answering one request of the browser.
CALLS: ContextVar[list[Call] | None] = ContextVar("calls", default=None)
BATCH = 100  # ids per request to listing's GET /participants


class ApiError(Exception):
    """A service answered with an error status; ``detail`` is its body's ``detail``."""

    def __init__(self, status: int, detail: Any):
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail


KEEP_ALIVE_SECONDS = 2.0


class Unavailable(Exception):
    """A service could not be reached."""


class Apis:
    def __init__(self, settings: Settings):
        self.settings = settings
        self._listing, self._sessions = settings.listing_url, settings.events_sessions_url
        # Idle connections are dropped before the services' own keep-alive (uvicorn's 5 s) ends them:
        # a request sent on a connection the server is closing fails with no answer.
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=KEEP_ALIVE_SECONDS)
        self._http = httpx.AsyncClient(timeout=settings.api_timeout_seconds, limits=limits)
        self._names: dict[str, tuple[float, dict[str, Any]]] = {}
        self._services = {settings.listing_url: "listing", settings.events_sessions_url: "events_sessions",
                          settings.matching_url: "matching", settings.notification_url: "notification"}

    async def close(self) -> None:
        await self._http.aclose()

    def _record(self, url: str, started: float) -> None:
        calls = CALLS.get()
        if calls is not None:
            service = next((name for base, name in self._services.items() if url.startswith(base)), url)
            calls.append(Call(service, started, time.monotonic()))

    async def call(self, method: str, url: str, token: str | None = None, **options: Any) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        started = time.monotonic()
        try:
            response = await self._http.request(method, url, headers=headers, **options)
        except httpx.HTTPError as exc:
            raise Unavailable(f"{method} {url}: {exc}") from exc
        finally:
            self._record(url, started)
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail")
            except ValueError:
                detail = response.text
            raise ApiError(response.status_code, detail)
        if response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return response

    # listing

    async def token(self, api_key: str) -> dict[str, Any]:
        return await self.call("POST", f"{self._listing}/auth/token", json={"api_key": api_key})

    async def sign_up(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self.call("POST", f"{self._listing}/participants", json=body)

    async def me(self, token: str) -> dict[str, Any]:
        return await self.call("GET", f"{self._listing}/participants/me", token)

    async def participants(self, token: str, ids: set[str]) -> dict[str, dict[str, Any]]:
        """Participants' public profiles by id, asked for in one request (of at most 100 ids each,
        sent together) and kept a short while (names change rarely); an id the listing service
        does not know is left out."""
        now = time.monotonic()
        wanted = sorted(i for i in ids if i not in self._names or self._names[i][0] < now)
        batches = [wanted[n:n + BATCH] for n in range(0, len(wanted), BATCH)]
        for answer in await asyncio.gather(*(
                self.call("GET", f"{self._listing}/participants", token, params=[("id", i) for i in batch])
                for batch in batches)):
            for found in answer["items"]:
                self._names[found["id"]] = (now + self.settings.name_cache_seconds, found)
        return {i: self._names[i][1] for i in ids if i in self._names and self._names[i][0] >= now}

    async def item_counts(self, token: str) -> dict[str, int]:
        """How many offers and needs the visitor has, in every status."""
        return await self.call("GET", f"{self._listing}/participants/me/item-counts", token)

    async def items(self, token: str, side: str, **params: Any) -> dict[str, Any]:
        return await self.call("GET", f"{self._listing}/{_path(side)}", token, params=params)

    async def item(self, token: str, side: str, item_id: str) -> dict[str, Any]:
        return await self.call("GET", f"{self._listing}/{_path(side)}/{item_id}", token)

    async def post_item(self, token: str, side: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self.call("POST", f"{self._listing}/{_path(side)}", token, json=body)

    async def patch_item(self, token: str, side: str, item_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self.call("PATCH", f"{self._listing}/{_path(side)}/{item_id}", token, json=body)

    async def withdraw_item(self, token: str, side: str, item_id: str) -> dict[str, Any]:
        return await self.call("POST", f"{self._listing}/{_path(side)}/{item_id}/withdraw", token)

    # matching

    async def matches(self, token: str, **params: Any) -> dict[str, Any]:
        return await self.call("GET", f"{self.settings.matching_url}/matches", token, params=params)

    async def match(self, token: str, match_id: str) -> dict[str, Any]:
        return await self.call("GET", f"{self.settings.matching_url}/matches/{match_id}", token)

    async def consortia(self, token: str) -> dict[str, Any]:
        return await self.call("GET", f"{self.settings.matching_url}/consortia", token,
                               params={"status": "active", "limit": 50})

    async def feedback(self, token: str, match_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self.call("POST", f"{self.settings.matching_url}/matches/{match_id}/feedback", token, json=body)

    # events_sessions

    async def sessions(self, **params: Any) -> dict[str, Any]:
        return await self.call("GET", f"{self._sessions}/sessions", params=params)

    async def session(self, session_id: str) -> dict[str, Any]:
        return await self.call("GET", f"{self._sessions}/sessions/{session_id}")

    async def create_session(self, token: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self.call("POST", f"{self._sessions}/sessions", token, json=body)

    async def update_session(self, token: str, session_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        return await self.call("PATCH", f"{self._sessions}/sessions/{session_id}", token, json=changes)

    async def close_registration(self, token: str, session_id: str) -> dict[str, Any]:
        return await self.call("POST", f"{self._sessions}/sessions/{session_id}/close", token)

    async def register(self, token: str, session_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self.call("POST", f"{self._sessions}/sessions/{session_id}/registrations", token,
                               json=body)

    async def my_registration(self, token: str, session_id: str) -> dict[str, Any] | None:
        try:
            return await self.call("GET", f"{self._sessions}/sessions/{session_id}/registrations/me", token)
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    async def check_in_image(self, token: str, session_id: str) -> httpx.Response:
        return await self.call("GET", f"{self._sessions}/sessions/{session_id}/registrations/me/check-in.svg",
                               token)

    async def registrations(self, token: str, session_id: str) -> list[dict[str, Any]]:
        """Every registration of a session, in arrival order (the organiser's view)."""
        found: list[dict[str, Any]] = []
        cursor = None
        while True:
            params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
            page = await self.call("GET", f"{self._sessions}/sessions/{session_id}/registrations", token,
                                   params=params)
            found.extend(page["items"])
            cursor = page["next_cursor"]
            if not cursor:
                return found

    async def check_in(self, token: str, session_id: str, code: str) -> dict[str, Any]:
        return await self.call("POST", f"{self._sessions}/sessions/{session_id}/check-ins", token,
                               json={"code": code})

    async def request_meeting(self, token: str, session_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self.call("POST", f"{self._sessions}/sessions/{session_id}/meeting-requests", token,
                               json=body)

    async def session_agenda(self, token: str, session_id: str) -> dict[str, Any] | None:
        try:
            return await self.call("GET", f"{self._sessions}/sessions/{session_id}/agenda", token)
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    async def my_agenda(self, token: str) -> dict[str, Any]:
        return await self.call("GET", f"{self._sessions}/me/agenda", token, params={"limit": 100})

    async def my_calendar(self, token: str) -> httpx.Response:
        return await self.call("GET", f"{self._sessions}/me/agenda.ics", token)

    # notification

    async def unread(self, token: str) -> int:
        return (await self.call("GET", f"{self.settings.notification_url}/inbox/unread-count", token))["unread"]

    async def inbox(self, token: str, **params: Any) -> dict[str, Any]:
        return await self.call("GET", f"{self.settings.notification_url}/inbox", token, params=params)

    async def preferences(self, token: str) -> dict[str, Any]:
        return await self.call("GET", f"{self.settings.notification_url}/me/preferences", token)

    async def put_preferences(self, token: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self.call("PUT", f"{self.settings.notification_url}/me/preferences", token, json=body)

    async def mark_read(self, token: str, notification_id: str) -> dict[str, Any]:
        return await self.call("POST", f"{self.settings.notification_url}/inbox/{notification_id}/read", token)

    @asynccontextmanager
    async def stream(self, token: str, last_event_id: str | None) -> AsyncIterator[httpx.Response]:
        """The notification service's live stream, held open for as long as the caller reads it."""
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        request = self._http.build_request("GET", f"{self.settings.notification_url}/stream", headers=headers,
                                           timeout=httpx.Timeout(self.settings.api_timeout_seconds, read=None))
        try:
            response = await self._http.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise Unavailable(f"GET /stream: {exc}") from exc
        try:
            if response.status_code >= 400:
                await response.aread()
                raise ApiError(response.status_code, response.text)
            yield response
        finally:
            await response.aclose()

    # deals

    async def my_deals(self, token: str, **params: Any) -> dict[str, Any]:
        return await self.call("GET", f"{self.settings.deals_url}/me/deals", token, params=params)

    async def deal(self, token: str, deal_id: str) -> dict[str, Any]:
        return await self.call("GET", f"{self.settings.deals_url}/deals/{deal_id}", token)

    async def confirm_deal(self, token: str, deal_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self.call("POST", f"{self.settings.deals_url}/deals/{deal_id}/confirmations", token, json=body)

    async def close_deal(self, token: str, deal_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self.call("POST", f"{self.settings.deals_url}/deals/{deal_id}/close", token, json=body)

    async def funnel(self, token: str, **params: Any) -> dict[str, Any]:
        return await self.call("GET", f"{self.settings.deals_url}/funnel", token, params=params)


def _path(side: str) -> str:
    if side not in ("offer", "need"):
        raise ApiError(404, f"no such side {side}")
    return "listings" if side == "offer" else "demands"


class RoundTrips:
    """ASGI middleware: collects the calls to the services made while answering a request and
    states them in its ``Server-Timing`` header (for pages that are rendered once every call has
    returned; a stream's later calls are not stated)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        calls: list[Call] = []
        token = CALLS.set(calls)
        started = time.monotonic()

        async def send_stating(message: Message) -> None:
            if message["type"] == "http.response.start" and calls:
                MutableHeaders(scope=message).append("Server-Timing",
                                                     server_timing(calls, time.monotonic() - started))
            await send(message)

        try:
            await self.app(scope, receive, send_stating)
        finally:
            CALLS.reset(token)
