"""Wiring of the matching service's query API, a process like every other service's API
(``python -m services.matching``). It reads the read model that the stream worker's projection
writes (``worker.py``: ``python -m services.matching.worker``), and learns from the workers'
heartbeats in MongoDB whether one of them is ready."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

from fastapi import FastAPI

from services.matching.api import router
from services.matching.ledger import OWNERSHIP_PARTITIONS, SOURCE
from services.matching.settings import Settings
from services.matching.storage import MatchingStore
from shared.api.app import create_service_app
from shared.outbox import OutboxRelay
from shared.service import Resources, run_http

# A worker writes its heartbeat every second (``worker.HEARTBEAT_SECONDS``); one older than this
# is a worker that is gone (killed, or its machine cut off).
WORKER_STALE_SECONDS = 5.0


def create_app(settings: Settings | None = None, *, resources: Resources | None = None) -> FastAPI:
    """The query API. /readyz holds it ready when, besides MongoDB and Kafka, ready stream workers
    hold every ownership partition between them and one runs the projection process, each with a
    heartbeat younger than ``WORKER_STALE_SECONDS``; /metrics includes the live workers' metrics (label ``process``)."""
    settings = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        held = resources or Resources(settings)
        app.state.resources = held
        app.state.store = MatchingStore(held.db, source=SOURCE, locks=held.locks)
        await app.state.store.ensure_indexes()
        app.state.relay = OutboxRelay([app.state.store.feedback], held.producer, topic_prefix=settings.topic_prefix,
                                      locks=held.locks)
        await app.state.relay.ensure_indexes()
        held.tasks.supervise(app.state.relay.run, "matching-feedback-outbox")
        yield
        await held.close()

    def readiness(app: FastAPI) -> dict[str, Any]:
        store: MatchingStore = app.state.store

        async def live(flag: str) -> bool:
            return any(w.get(flag) for w in await store.live_workers(WORKER_STALE_SECONDS))

        async def worker() -> bool:
            """Ready workers hold every ownership partition between them (one worker holds all)."""
            ready = [w for w in await store.live_workers(WORKER_STALE_SECONDS) if w.get("ready")]
            owned = {p for w in ready for p in w.get("owns", range(OWNERSHIP_PARTITIONS))}
            return bool(ready) and owned >= set(range(OWNERSHIP_PARTITIONS))

        async def projection() -> bool:
            return await live("projection")

        return {**app.state.resources.readiness(), "worker": worker, "projection": projection}

    async def workers_metrics(app: FastAPI) -> Mapping[str, str]:
        store: MatchingStore = app.state.store
        return {w["_id"]: w.get("metrics", "") for w in await store.live_workers(WORKER_STALE_SECONDS)}

    return create_service_app(
        settings,
        title="Hard-Tech Express: matching",
        description="Explained matches between offers and needs, five-party consortia (五方联动) and 1:1 meeting "
                    "agendas. 可解释的供需匹配、五方联动组合与一对一洽谈日程。",
        routers=[router],
        lifespan=lifespan,
        readiness=readiness,
        other_processes=workers_metrics,
    )


def run(settings: Settings) -> None:
    run_http(create_app(settings), settings)
