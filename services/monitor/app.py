"""Wiring of the monitor service: resources, background tasks and routes."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.monitor.settings import Settings
from shared.api.app import create_service_app
from shared.service import Resources


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.resources = Resources(settings)
        yield
        await app.state.resources.close()

    return create_service_app(
        settings,
        title="Hard-Tech Express: monitor",
        description="Participants of the six party types, their offers (listings) and needs (demands).",
        routers=[],
        lifespan=lifespan,
        readiness=lambda app: app.state.resources.readiness(),
    )
