"""Wiring of the notification service: store, fan-out consumer, delivery and digest pollers, routes."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.notification.api import router
from services.notification.events import FanOut
from services.notification.live import Broadcaster
from services.notification.settings import Settings
from services.notification.storage import Store
from services.notification.workers import DeliveryWorker, DigestWorker
from shared.api.app import create_service_app
from shared.service import Resources


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        resources = app.state.resources = Resources(settings)
        store = app.state.store = Store(resources.db, resources.locks)
        live = app.state.live = Broadcaster()
        await store.ensure_indexes()
        await store.upgrade()
        await store.upgrade_inbox()
        deliveries = app.state.deliveries = DeliveryWorker(settings, store, resources.producer)
        digests = DigestWorker(settings, store, deliveries)
        fan_out = FanOut(settings, store, live, deliveries, digests)
        resources.run_consumer(fan_out.consumer(resources.producer))
        resources.tasks.supervise(deliveries.run, "delivery worker")
        resources.tasks.supervise(digests.run, "digest worker")
        yield
        await resources.close()

    return create_service_app(
        settings,
        title="Hard-Tech Express: notification",
        description="Fan-out of matches, consortia, agendas, registrations and alerts to the inbox, a live "
                    "stream (SSE), signed webhooks (Standard Webhooks) and e-mail. "
                    "通知服务：收件箱、实时推送、签名 webhook 与邮件。",
        routers=[router],
        lifespan=lifespan,
        readiness=lambda app: app.state.resources.readiness(),
    )
