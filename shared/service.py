"""How every service process runs: JSON logs, uvicorn on the configured host and port, and the
background tasks (outbox relay, consumers) started and stopped with the app."""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
import time
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import uvicorn
from fastapi import FastAPI
from pydantic import ValidationError

from shared import logging as service_logging
from shared.locks import COLLECTION as LOCKS, KeyedLocks, StoreLeases
from shared.auth import UnsafeSettings, check_secrets
from shared.settings import ServiceSettings

if TYPE_CHECKING:
    from shared.kafka import EventConsumer

log = logging.getLogger(__name__)
S = TypeVar("S", bound=ServiceSettings)

CANCEL_AGAIN_SECONDS = 1.0
# A supervised task that dies is started again after 1, 2, 4 … 30 s; the wait starts over once a
# run lasted this long.
RESTART_FIRST_SECONDS = 1.0
RESTART_MAX_SECONDS = 30.0
RESTART_RESET_AFTER_SECONDS = 60.0


async def woken(wake: asyncio.Event, seconds: float) -> bool:
    """Wait until ``wake`` is set or ``seconds`` pass; True when woken. Unlike ``asyncio.wait_for``
    in Python 3.11, never swallows a cancellation that arrives just as the event is set (a
    background loop would then outlive its service's shutdown)."""
    try:
        async with asyncio.timeout(seconds):
            await wake.wait()
    except TimeoutError:
        return False
    return True


class BackgroundTasks:
    """Long-running tasks of a service; a task that dies is logged, never silently lost."""

    def __init__(self) -> None:
        self._tasks: list[asyncio.Task[Any]] = []
        self.restarts: dict[str, int] = {}

    def supervise(self, run: Callable[[], Coroutine[Any, Any, Any]], name: str) -> asyncio.Task[Any]:
        """Run ``run()`` until it returns or the task is cancelled; when it raises, log it and
        start it again with backoff: a service's consumers and pollers never silently end."""

        async def supervised() -> None:
            wait = RESTART_FIRST_SECONDS
            while True:
                started = time.monotonic()
                try:
                    await run()
                    return
                except Exception:
                    if time.monotonic() - started > RESTART_RESET_AFTER_SECONDS:
                        wait = RESTART_FIRST_SECONDS
                    self.restarts[name] = self.restarts.get(name, 0) + 1
                    log.exception("background task %s died; starting it again in %.0f s", name, wait)
                await asyncio.sleep(wait)
                wait = min(wait * 2, RESTART_MAX_SECONDS)

        return self.start(supervised(), name)

    def start(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=name)
        task.add_done_callback(self._report)
        self._tasks.append(task)
        return task

    @staticmethod
    def _report(task: asyncio.Task[Any]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("background task %s died", task.get_name(), exc_info=task.exception())

    def alive(self) -> bool:
        return all(not t.done() for t in self._tasks)

    async def stop(self) -> None:
        """Cancel every task and wait until all have ended. A cancellation can be swallowed on the
        way (``asyncio.wait_for`` in Python 3.11, which pymongo uses, returns its result when that
        arrives together with the cancellation), and a loop would then go on: cancel again."""
        running = set(self._tasks)
        while running:
            for task in running:
                task.cancel()
            _, running = await asyncio.wait(running, timeout=CANCEL_AGAIN_SECONDS)
        self._tasks.clear()


def main(settings_class: type[S], run: Callable[[S], None]) -> None:
    """Every service's entry point: its settings from the environment, checked, then ``run``. A
    setting that is invalid, missing, a public development value or too weak ends the process
    with one line that names it (exit status 2), before anything starts."""
    try:
        settings = settings_class()
        check_secrets(settings)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or settings_class.__name__
        _refuse(f"setting {where}: {error['msg']}")
    except UnsafeSettings as exc:
        _refuse(str(exc))
    run(settings)


def _refuse(reason: str) -> NoReturn:
    print(f"error: not starting: {reason}", file=sys.stderr)
    raise SystemExit(2)


def serve_http(create_app: Callable[[S], FastAPI], settings_class: type[S]) -> None:
    main(settings_class, lambda settings: run_http(create_app(settings), settings))


def run_http(app: FastAPI, settings: ServiceSettings) -> None:
    service_logging.configure(settings.service_name, settings.log_level)
    freeze_startup_objects()
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, access_log=False,
                timeout_graceful_shutdown=5)


def freeze_startup_objects() -> None:
    """Keep what the process holds once it is set up (modules, routes, models, templates: ~90,000
    objects in the web app) out of the cyclic garbage collector's full collections, which otherwise
    walk all of it every so often while a request waits (140-330 ms each in the web app on the
    shared 2-core machine; the one slow page in 50 of the investor's /matches). Called once per
    process, before serving; not in tests, whose many apps' garbage would stay forever."""
    gc.collect()
    gc.freeze()


class Resources:
    """What a service holds while it runs: its database, a producer and background tasks."""

    def __init__(self, settings: ServiceSettings):
        from shared.kafka import Producer
        from shared.mongo import make_client

        self.settings = settings
        self.mongo = make_client(settings.mongodb_uri)
        self.db = self.mongo[settings.database]
        self.producer = Producer(settings, client_id=settings.service_name)
        self.tasks = BackgroundTasks()
        self.consumers: list[EventConsumer] = []
        # One lock per document for every writer in this process, its outbox relay and the other
        # processes (replicas) on the same database: FerretDB v1 loses concurrent updates to one
        # document (see shared/locks.py).
        self.locks = KeyedLocks(StoreLeases(self.db[LOCKS]))

    def run_consumer(self, consumer: EventConsumer) -> asyncio.Task[Any]:
        """Run a consumer under supervision, and report it in ``readiness()``."""
        self.consumers.append(consumer)
        return self.tasks.supervise(consumer.run, f"consumer {consumer.name}")

    def readiness(self) -> dict[str, Any]:
        """Checks for ``/readyz``: the store, the broker, every background task alive, and per
        consumer ``consumer <group>``: running, with no record failing for too long."""
        from shared.mongo import reachable

        async def mongodb() -> bool:
            return await reachable(self.mongo)

        async def background() -> bool:
            return self.tasks.alive()

        def consumer_check(consumer: EventConsumer) -> Callable[[], Coroutine[Any, Any, bool]]:
            async def check() -> bool:
                return consumer.healthy()
            return check

        return {"mongodb": mongodb, "kafka": self.producer.reachable, "background_tasks": background,
                **{f"consumer {c.name}": consumer_check(c) for c in self.consumers}}

    async def close(self) -> None:
        await self.tasks.stop()
        await self.producer.stop()
        await self.mongo.close()
