"""The read model's writer, in a process of its own: the service's output topics into MongoDB for
the query API.

Its own process, so that reading, validating and writing the outputs (about 16 per new item) use
another core than the faust worker. In the worker's event loop the projection waited behind the
work agent during a burst, then held new input back while it caught up (README: Throughput).

The worker process starts it and starts it again if it dies (``ProjectionProcess``);
``python -m services.matching.projection`` runs one alone. Several share the output topics'
partitions (consumer group ``<prefix>matching-projection``). Delivery is at least once: a
fetch's offsets are committed after its batch is written, and the events written again, in
order, end in the same documents.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
from typing import Any

from mode import Service

from services.matching.events import DEAD_LETTER, OUTPUTS
from services.matching.ledger import SOURCE
from services.matching.settings import Settings
from services.matching.storage import MatchingStore
from shared import logging as service_logging
from shared.kafka import EventConsumer
from shared.service import Resources

log = logging.getLogger(__name__)

GROUP = "matching-projection"
# FerretDB v1 pays per operation, and an entity that changed several times in one batch is written once.
BATCH_SIZE = 5000
WATCH_SECONDS = 1.0
STOP_SECONDS = 10.0


async def project(settings: Settings, *, parent_pid: int | None = None) -> None:
    """Project output events until cancelled, or until ``parent_pid`` is no longer the parent."""
    resources = Resources(settings)
    store = MatchingStore(resources.db, source=SOURCE, locks=resources.locks)
    consumer = EventConsumer(settings, group_id=GROUP, topics=OUTPUTS, dead_letter=DEAD_LETTER,
                             producer=resources.producer, batch_handler=store.project_many, max_records=BATCH_SIZE)
    try:
        await store.ensure_indexes()
        running = resources.tasks.start(consumer.run(), GROUP)
        while not running.done() and (parent_pid is None or os.getppid() == parent_pid):
            await asyncio.sleep(WATCH_SECONDS)
        if running.done():
            running.result()  # raises what stopped the consumer
    finally:
        await resources.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m services.matching.projection",
                                     description="Project the matching service's output topics into MongoDB.")
    parser.add_argument("--parent-pid", type=int, help="exit when this process is no longer the parent")
    args = parser.parse_args(argv)
    settings = Settings()
    service_logging.configure(f"{settings.service_name}-projection", settings.log_level)

    async def until_terminated() -> None:
        task = asyncio.current_task()
        assert task is not None
        for stop in (signal.SIGTERM, signal.SIGINT):  # Ctrl-C reaches the whole process group
            asyncio.get_running_loop().add_signal_handler(stop, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await project(settings, parent_pid=args.parent_pid)

    asyncio.run(until_terminated())


class ProjectionProcess(Service):
    """Runs the projection process beside the faust worker, and starts it again if it dies."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self._process: subprocess.Popen[bytes] | None = None

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _spawn(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "services.matching.projection", "--parent-pid", str(os.getpid())])

    async def on_start(self) -> None:
        self._spawn()

    @Service.timer(WATCH_SECONDS)
    async def _restart_when_dead(self) -> None:
        if self._process is not None and not self.alive():
            log.error("the projection process exited with %s; starting it again", self._process.returncode)
            self._spawn()

    async def on_stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            await asyncio.to_thread(process.wait, STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()


if __name__ == "__main__":
    main()
