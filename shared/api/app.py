"""The app factory every service uses, so all share one shape: ``/healthz``, ``/readyz``,
``/metrics``, API docs that work offline (``/docs``, ``/redoc``), request ids in logs, a body size
limit (413), and errors that name the problem."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.api.metrics import HTTP_LATENCY, HTTP_REQUESTS, exposition
from shared.api.security import Operator
from shared.auth import check_secrets
from shared.logging import request_id
from shared.settings import ServiceSettings

log = logging.getLogger("http")

ReadinessCheck = Callable[[], Awaitable[bool]]


class Problem(BaseModel):
    detail: Any


class Health(BaseModel):
    status: str
    checks: dict[str, bool] = {}


class BodySizeLimit:
    """Answers 413 before reading more than ``limit`` bytes of a request body, whether its length
    is declared or it comes in chunks."""

    def __init__(self, app: ASGIApp, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            return await self._reject(send)
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:  # a chunked body declares no length
                    raise _TooLarge(self.limit)
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _TooLarge:
            await self._reject(send)

    async def _reject(self, send: Send) -> None:
        response = JSONResponse({"detail": f"request body larger than {self.limit} bytes"}, status_code=413)
        await response(scope={"type": "http"}, receive=None, send=send)  # type: ignore[arg-type]


class RequestObserver:
    """A request id (the caller's ``x-request-id`` or a new one) in the log context and the
    response's headers, and every request counted and timed by route. Plain ASGI, because
    ``BaseHTTPMiddleware`` costs a task and a body stream per request."""

    def __init__(self, app: ASGIApp, service: str):
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = (Headers(scope=scope).get("x-request-id") or uuid.uuid4().hex)[:64]
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500  # unless a response starts

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append("x-request-id", rid)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)
            route = getattr(scope.get("route"), "path", "unmatched")
            HTTP_REQUESTS.labels(self.service, scope["method"], route, status).inc()
            HTTP_LATENCY.labels(self.service, scope["method"], route).observe(time.perf_counter() - started)


class _TooLarge(StarletteHTTPException):
    """An HTTP error, so that FastAPI passes it on while it parses a body (any other error
    there becomes a 400) and answers it like any 413."""

    def __init__(self, limit: int):
        super().__init__(413, detail=f"request body larger than {limit} bytes")


def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
    return JSONResponse({"detail": errors}, status_code=422)


def create_service_app(
    settings: ServiceSettings,
    *,
    title: str,
    description: str,
    routers: list[APIRouter],
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None,
    readiness: Callable[[FastAPI], Mapping[str, ReadinessCheck]] = lambda app: {},
    other_processes: Callable[[FastAPI], Awaitable[Mapping[str, str]]] | None = None,
) -> FastAPI:
    """``other_processes``: the metrics (text exposition) of the service's processes that serve no
    HTTP, by name, for ``/metrics`` to include with a ``process`` label (matching's stream workers)."""
    check_secrets(settings)  # fail closed: no app on a missing, default or weak secret
    # Swagger UI at /docs and ReDoc at /redoc from the assets fastapi-offline ships, so they work offline.
    app = FastAPIOffline(title=title, description=description, version="1.0.0", lifespan=lifespan,
                         responses={401: {"model": Problem}, 403: {"model": Problem}, 422: {"model": Problem}})
    app.state.settings = settings
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]

    app.add_middleware(RequestObserver, service=settings.service_name)
    app.add_middleware(BodySizeLimit, limit=settings.max_body_bytes)

    ops = APIRouter(tags=["operations"])

    @ops.get("/healthz", response_model=Health)
    async def healthz() -> Health:
        return Health(status="ok")

    @ops.get("/readyz", response_model=Health, responses={503: {"model": Health}})
    async def readyz() -> Response:
        checks = {name: await check() for name, check in readiness(app).items()}
        ready = all(checks.values())
        body = Health(status="ready" if ready else "not ready", checks=checks)
        return JSONResponse(body.model_dump(), status_code=200 if ready else 503)

    @ops.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
    async def metrics(_: Operator) -> Response:
        """Prometheus metrics, for the operator token only (scrape with ``authorization: Bearer``)."""
        others = await other_processes(app) if other_processes is not None else {}
        return Response(exposition(others, label="process"), media_type=CONTENT_TYPE_LATEST)

    app.include_router(ops)
    for router in routers:
        app.include_router(router)
    return app
