"""Wiring of the events_sessions service: storage, the outbox relay, the consumer of listings
and agendas, the closer of sessions whose registration window ended, and the routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.events_sessions import api
from shared.api.errors import domain_error
from shared.domain_errors import DomainError
from services.events_sessions.events import make_consumer
from services.events_sessions.handlers import Clock, SessionService, utc_now
from services.events_sessions.settings import Settings
from services.events_sessions.storage import SessionStore
from shared.api.app import create_service_app
from shared.api.idempotency import IdempotencyStore
from shared.outbox import OutboxRelay
from shared.service import Resources


def create_app(settings: Settings | None = None, *, clock: Clock = utc_now) -> FastAPI:
    """``clock`` is injectable so tests can move time past a deadline or a start."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        resources = Resources(settings)
        app.state.resources = resources
        locks = resources.locks
        store = SessionStore(resources.db, locks)
        await store.ensure_indexes()
        await store.upgrade()
        relay = OutboxRelay([store.sessions], resources.producer, topic_prefix=settings.topic_prefix, locks=locks)
        sessions = SessionService(store, relay, clock)
        app.state.sessions = sessions
        app.state.idempotency = IdempotencyStore(resources.db)
        await app.state.idempotency.ensure_indexes()
        resources.tasks.supervise(app.state.idempotency.run_sweeper, "idempotency sweeper")
        consumer = make_consumer(settings, resources.producer, on_listing=sessions.receive_listing,
                                 on_agenda=sessions.receive_agenda)
        app.state.consumer = consumer
        resources.tasks.supervise(relay.run, "outbox-relay")
        resources.run_consumer(consumer)
        resources.tasks.supervise(lambda: sessions.run_closer(settings.closer_interval_seconds), "closer")
        try:
            yield
        finally:
            await resources.close()

    app = create_service_app(
        settings,
        title="Hard-Tech Express: events_sessions",
        description="Hard-tech pitch sessions (科技成果直通车硬科技专场): registration without overbooking, "
                    "waitlists, meeting requests, check-in and 1:1 meeting agendas.",
        routers=[api.sessions, api.me],
        lifespan=lifespan,
        readiness=lambda app: app.state.resources.readiness(),
    )
    app.add_exception_handler(DomainError, domain_error)  # type: ignore[arg-type]
    return app
