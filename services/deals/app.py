"""Wiring of the deals service: storage, the outbox relay, the consumer and the routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.deals import api
from shared.api.errors import domain_error
from shared.domain_errors import DomainError
from services.deals.events import Receivers, make_consumer
from services.deals.handlers import Clock, DealService, utc_now
from services.deals.settings import Settings
from services.deals.storage import DealStore
from shared.api.app import create_service_app
from shared.outbox import OutboxRelay
from shared.service import Resources


def create_app(settings: Settings | None = None, *, clock: Clock = utc_now) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        resources = Resources(settings)
        app.state.resources = resources
        store = DealStore(resources.db, resources.locks)
        relay = OutboxRelay([store.deals, store.priors], resources.producer, topic_prefix=settings.topic_prefix,
                            locks=resources.locks)
        await relay.ensure_indexes()
        deals = DealService(store, relay, clock)
        app.state.deals = deals
        consumer = make_consumer(settings, resources.producer, Receivers(
            participant=deals.receive_participant, item=deals.receive_item, session=deals.receive_session,
            check_in=deals.receive_check_in, match=deals.receive_match, feedback=deals.receive_feedback,
            agenda=deals.receive_agenda, deal=deals.receive_deal))
        app.state.consumer = consumer
        resources.tasks.supervise(relay.run, "outbox-relay")
        resources.run_consumer(consumer)
        try:
            yield
        finally:
            await resources.close()

    app = create_service_app(
        settings,
        title="Hard-Tech Express: deals",
        description="From match to contract (从匹配到成交): deal stages confirmed by both parties, technology-contract "
                    "records (技术合同), and conversion funnels for organisers and operators.",
        routers=[api.deals, api.me, api.funnels],
        lifespan=lifespan,
        readiness=lambda app: app.state.resources.readiness(),
    )
    app.add_exception_handler(DomainError, domain_error)  # type: ignore[arg-type]
    return app
