"""Wiring of the matching service: one process runs the faust worker (stream processing) and
the query API (uvicorn served inside faust's event loop; faust's own web server is off), and
starts the read model's projection as a child process."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import faust
import uvicorn
from fastapi import FastAPI
from mode import Service

from services.matching.api import router
from services.matching.events import DEAD_LETTER, INPUTS, OUTPUTS, MatchingStream
from services.matching.ledger import SOURCE
from services.matching.projection import ProjectionProcess
from services.matching.settings import Settings
from services.matching.storage import MatchingStore
from shared import logging as service_logging
from shared.api.app import create_service_app
from shared.kafka import ensure_topics
from shared.outbox import OutboxRelay
from shared.service import Resources


def create_app(settings: Settings | None = None, *, resources: Resources | None = None,
               worker_ready: Callable[[], bool] = lambda: False) -> FastAPI:
    """The query API; ``worker_ready`` tells /readyz whether the stream worker holds its partitions
    and its projection process runs."""
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

    async def worker() -> bool:
        return worker_ready()

    return create_service_app(
        settings,
        title="Hard-Tech Express: matching",
        description="Explained matches between offers and needs, five-party consortia (五方联动) and 1:1 meeting "
                    "agendas. 可解释的供需匹配、五方联动组合与一对一洽谈日程。",
        routers=[router],
        lifespan=lifespan,
        readiness=lambda app: {**app.state.resources.readiness(), "worker": worker},
    )


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its own signal handling: the faust worker owns the process's signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class HttpService(Service):
    """Serves the query API inside the faust worker's event loop."""

    def __init__(self, api: FastAPI, settings: Settings, **kwargs: Any):
        super().__init__(**kwargs)
        config = uvicorn.Config(api, host=settings.host, port=settings.port, log_config=None, access_log=False,
                                timeout_graceful_shutdown=5)
        self._server = _EmbeddedServer(config)

    async def on_start(self) -> None:
        self.add_future(self._server.serve())

    async def on_stop(self) -> None:
        self._server.should_exit = True


def run(settings: Settings) -> None:
    service_logging.configure(settings.service_name, settings.log_level)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    # Faust creates its own internal topics (work, changelogs); the registry topics are ours to ensure.
    loop.run_until_complete(ensure_topics(settings, (*INPUTS, *OUTPUTS, DEAD_LETTER)))
    resources = Resources(settings)
    stream = MatchingStream(settings)
    projection = ProjectionProcess()
    api = create_app(settings, resources=resources, worker_ready=lambda: stream.ready() and projection.alive())
    worker = faust.Worker(stream.app, projection, HttpService(api, settings), loop=loop, loglevel=settings.log_level,
                          override_logging=False)
    worker.execute_from_commandline()
