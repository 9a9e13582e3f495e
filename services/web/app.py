"""Wiring of the web app: the services' API client, the page renderer, the routes, the static
files (htmx, the style sheet) and the error pages."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from services.web import api
from services.web.api.common import BadForm, SignInNeeded
from services.web.apis import ApiError, Apis, RoundTrips, Unavailable
from services.web.domain.i18n import bilingual
from services.web.rendering import SESSION_COOKIE, Pages, visitor
from services.web.settings import Settings
from shared.api.app import create_service_app

STATIC = Path(__file__).parent / "static"
log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.apis = Apis(settings)
        app.state.pages = Pages(settings.secure_cookies, f"{settings.monitor_url}/dashboard")
        yield
        await app.state.apis.close()

    app = create_service_app(
        settings,
        title="Hard-Tech Express: web",
        description="The web app for participants and organisers, rendered on the server from the services' "
                    "public APIs. 参与方与组织方的网页应用。",
        routers=[api.router],
        lifespan=lifespan,
    )
    app.add_middleware(RoundTrips)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_exception_handler(SignInNeeded, _sign_in)
    app.add_exception_handler(BadForm, _bad_form)
    app.add_exception_handler(ApiError, _api_error)  # type: ignore[arg-type]
    app.add_exception_handler(Unavailable, _unavailable)
    return app


def _sign_in(request: Request, _: Exception) -> Response:
    return RedirectResponse("/signin", status_code=303)


def _error_page(request: Request, status: int, message: str, **values: object) -> Response:
    who = visitor(request)
    return request.app.state.pages.render(request, who, "error.html", status_code=status, message=message,
                                          values=values)


def _bad_form(request: Request, _: Exception) -> Response:
    return _error_page(request, 403, "form.csrf")


def _api_error(request: Request, exc: ApiError) -> Response:
    if exc.status == 401:
        response = RedirectResponse("/signin?expired=true", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response
    if exc.status == 404:
        return _error_page(request, 404, "error.not_found")
    if exc.status == 403:
        return _error_page(request, 403, "error.forbidden")
    language = visitor(request).language
    detail = exc.detail if isinstance(exc.detail, str) else "; ".join(
        str(d.get("msg", d)) if isinstance(d, dict) else str(d) for d in (exc.detail or []))
    return _error_page(request, exc.status if 400 <= exc.status < 500 else 502, "error.conflict",
                       detail=bilingual(detail, language))


def _unavailable(request: Request, exc: Exception) -> Response:
    log.warning("%s %s: a service did not answer: %s", request.method, request.url.path, exc)
    return _error_page(request, 503, "error.unavailable")
