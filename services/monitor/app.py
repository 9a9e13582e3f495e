"""Wiring of the monitor service: the sampling loop, the alert outbox relay and the routes."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from services.monitor import api
from services.monitor.metrics import COLLECTOR
from services.monitor.runtime import MonitorRuntime
from services.monitor.settings import Settings
from services.monitor.storage import AlertStore
from shared.api.app import create_service_app
from shared.outbox import OutboxRelay
from shared.service import Resources


def create_app(settings: Settings | None = None, *, sample: bool = True) -> FastAPI:
    """``sample=False`` leaves the loop off, for callers that drive ``runtime.sample_once``."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        resources = app.state.resources = Resources(settings)
        store = AlertStore(resources.db, resources.locks)
        relay = OutboxRelay([store.alerts], resources.producer, topic_prefix=settings.topic_prefix,
                            locks=resources.locks)
        runtime = app.state.runtime = MonitorRuntime(settings, store,
                                                     on_alert_stored=lambda: relay.notify(store.alerts))
        COLLECTOR.source = lambda: runtime
        resources.tasks.supervise(relay.run, "alert-outbox-relay")
        if sample:
            resources.tasks.supervise(runtime.run, "lag-sampling")
        yield
        COLLECTOR.source = lambda: None
        await resources.close()
        await runtime.sampler.close()

    app = create_service_app(
        settings,
        title="Hard-Tech Express: monitor",
        description="Operators' view of the pipeline: consumer lag in messages and seconds, Burrow-style "
                    "status over a window, dashboard and alerts. 运维监控:消费延迟、状态、看板与告警。",
        routers=[api.router],
        lifespan=lifespan,
        readiness=lambda app: app.state.resources.readiness(),
    )
    app.mount("/static", StaticFiles(directory=api.STATIC), name="static")
    return app
