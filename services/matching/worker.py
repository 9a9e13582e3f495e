"""The matching service's stream worker, a process of its own (``python -m services.matching.worker``):
the faust worker (``events.py``) and, as its child, the projection process (``projection.py``).
It serves no HTTP: the query API (``app.py``) runs as a separate process and learns the worker's
state from its heartbeat, a MongoDB document per worker written every second by a thread (so a
long batch in the event loop does not make the worker look gone): whether it is ready (engine
restored, partitions assigned), which ownership partitions it holds, whether its projection
process runs (worker 1's only), and its Prometheus metrics in text form, which the API's
``/metrics`` includes. ``MATCHING_WORKER`` (1 … ``MATCHING_WORKERS``) names the worker; each has a
state directory and a faust group of its own (README: Scaling out)."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import faust
from prometheus_client import generate_latest
from pymongo import MongoClient
from pymongo.errors import PyMongoError

from services.matching.events import DEAD_LETTER, INPUTS, OUTPUTS, MatchingStream
from services.matching.projection import ProjectionProcess
from services.matching.settings import Settings
from services.matching.storage import WORKERS
from shared import logging as service_logging
from shared import topics
from shared.kafka import ensure_topics
from shared.service import main

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 1.0


def worker_id(settings: Settings) -> str:
    """A worker's name: its host and state directory, which no two running workers share (RocksDB
    locks it), so a restarted worker overwrites the heartbeat its predecessor left."""
    return f"{socket.gethostname()}:{settings.state_dir.resolve()}"


class Heartbeat(threading.Thread):
    """Writes the worker's state to MongoDB every ``HEARTBEAT_SECONDS`` until stopped."""

    def __init__(self, settings: Settings, state: Callable[[], dict[str, Any]]):
        super().__init__(name="matching-heartbeat", daemon=True)
        self._client: MongoClient[dict[str, Any]] = MongoClient(
            settings.mongodb_uri, serverSelectionTimeoutMS=3000, connectTimeoutMS=3000, tz_aware=True)
        self._workers = self._client[settings.database][WORKERS]
        self._id = worker_id(settings)
        self._state = state
        self._stopped = threading.Event()

    def beat(self) -> None:
        document = {**self._state(), "pid": os.getpid(), "metrics": generate_latest().decode(),
                    "at": datetime.now(UTC)}
        try:
            self._workers.replace_one({"_id": self._id}, document, upsert=True)
        except PyMongoError as exc:
            log.warning("writing the worker's heartbeat failed: %s", exc)

    def run(self) -> None:
        while not self._stopped.wait(HEARTBEAT_SECONDS):
            self.beat()

    def stop(self) -> None:
        """Stop beating and say so: the API is not ready from now on, not 5 s later."""
        self._stopped.set()
        self.join(timeout=5)
        self._state = lambda: {"ready": False, "projection": False}
        self.beat()
        self._client.close()


def run(settings: Settings) -> None:
    service_logging.configure(f"{settings.service_name}-worker", settings.log_level)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    # Faust creates its own internal topics (work, changelogs); the registry topics are ours to ensure.
    loop.run_until_complete(ensure_topics(settings, (*INPUTS, *OUTPUTS, DEAD_LETTER, topics.MATCHING_OWNERS)))
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    stream = MatchingStream(settings)
    # One projection process in all, worker 1's: FerretDB v1 does not serialise two writers of
    # one participant's listing (README: Flow, 3.).
    projection = ProjectionProcess() if settings.worker == 1 else None

    def state() -> dict[str, Any]:
        return {"ready": stream.ready(), "projection": projection is not None and projection.alive(),
                "worker": settings.worker, "owns": stream.ownership.owned()}

    heartbeat = Heartbeat(settings, state)
    heartbeat.beat()  # not ready: replaces what a killed predecessor left at once
    heartbeat.start()
    try:
        services = [projection] if projection is not None else []
        worker = faust.Worker(stream.app, *services, loop=loop, loglevel=settings.log_level, override_logging=False)
        worker.execute_from_commandline()
    finally:
        heartbeat.stop()


if __name__ == "__main__":
    main(Settings, run)
