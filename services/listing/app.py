"""Wiring of the listing service: resources, background tasks (outbox relay, expiry) and routes."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from services.listing.api import ROUTERS
from services.listing.domain.common import (
    Conflict, DomainError, Forbidden, NotFound, RateLimited, Unauthorized,
)
from services.listing.domain.ratelimit import retry_after_header
from services.listing.handlers import ListingService
from services.listing.settings import Settings
from services.listing.storage import ListingStore
from shared.api.app import create_service_app
from shared.api.idempotency import IdempotencyStore
from shared.outbox import OutboxRelay
from shared.service import Resources

STATUS_OF = {Unauthorized: 401, Forbidden: 403, NotFound: 404, Conflict: 409, RateLimited: 429}


def _domain_error(_: Request, error: DomainError) -> JSONResponse:
    headers = {}
    if isinstance(error, RateLimited):
        headers["Retry-After"] = retry_after_header(error.retry_after)
    if isinstance(error, Unauthorized):
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse({"detail": error.detail}, STATUS_OF[type(error)], headers=headers)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        resources = Resources(settings)
        app.state.resources = resources
        try:
            store = ListingStore(resources.db, resources.locks)
            relay = OutboxRelay(store.collections, resources.producer, topic_prefix=settings.topic_prefix,
                                poll_seconds=settings.relay_poll_seconds, locks=store.locks)
            idempotency = IdempotencyStore(resources.db)
            service = ListingService(store, relay, settings)
            await store.ensure_indexes()
            await store.upgrade(service.digest_of)
            await service.load_expiries()
            await relay.ensure_indexes()
            await idempotency.ensure_indexes()
            app.state.relay = relay
            app.state.idempotency = idempotency
            resources.tasks.supervise(idempotency.run_sweeper, "idempotency sweeper")
            app.state.listing = service
            resources.tasks.supervise(relay.run, "outbox-relay")
            resources.tasks.supervise(service.run_expiry, "expiry")
            yield
        finally:
            await resources.close()

    app = create_service_app(
        settings,
        title="Hard-Tech Express: listing",
        description="Participants of the six party types, their offers (listings) and needs (demands).",
        routers=ROUTERS,
        lifespan=lifespan,
        readiness=lambda app: app.state.resources.readiness(),
    )
    app.add_exception_handler(DomainError, _domain_error)  # type: ignore[arg-type]
    return app
