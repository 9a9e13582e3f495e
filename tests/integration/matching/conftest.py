"""Fixtures of the matching service's integration tests: the service as real processes (faust
worker and query API), and producers of the input events."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pymongo
import pytest

from services.matching.settings import Settings
from services.matching.storage import WORKERS
from shared.events import CloudEvent, EventData, new_event
from shared.events.common import LocalizedText
from shared.events.listing import ItemData, ParticipantData
from shared.kafka import Producer
from shared.party_types import PartyType
from shared.topics import topic_of_event
from tests.support import free_port

ROOT = Path(__file__).resolve().parents[3]


class MatchingProcess:
    """The matching service as its processes, each in its own process group, killable like a
    crash: the query API (``python -m services.matching``) and ``workers`` stream workers
    (``python -m services.matching.worker``, worker 1 with its projection process as a child)."""

    def __init__(self, settings: Settings, log_path: Path, *, workers: int = 1):
        self.settings = settings
        self.log_path = log_path
        self.url = f"http://127.0.0.1:{settings.port}"
        self._api: subprocess.Popen[bytes] | None = None
        self._workers: list[subprocess.Popen[bytes] | None] = [None] * workers

    def _spawn(self, module: str, **extra: str) -> subprocess.Popen[bytes]:
        env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": self.settings.kafka_bootstrap_servers,
               "MONGODB_URI": self.settings.mongodb_uri, "HARDTECH_TOPIC_PREFIX": self.settings.topic_prefix,
               "MATCHING_PORT": str(self.settings.port), "MATCHING_DATADIR": str(self.settings.datadir),
               "MATCHING_DATABASE": self.settings.database, "MATCHING_WORKERS": str(len(self._workers)), **extra}
        log = self.log_path.open("ab")
        return subprocess.Popen([sys.executable, "-m", module], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def _worker(self) -> subprocess.Popen[bytes] | None:
        return self._workers[0]

    def _running(self) -> list[tuple[str, subprocess.Popen[bytes]]]:
        return [(f"worker {n}", w) for n, w in enumerate(self._workers, 1) if w is not None] + (
            [("API", self._api)] if self._api is not None else [])

    def start(self, timeout: float = 150.0) -> None:
        """Start whichever process is not running (a killed worker only with ``restart``), and
        wait until the API is ready with these workers (not heartbeats killed ones left) ready."""
        for n, worker in enumerate(self._workers, 1):
            if worker is None:
                self._workers[n - 1] = self._spawn("services.matching.worker", MATCHING_WORKER=str(n))
        if self._api is None or self._api.poll() is not None:
            self._api = self._spawn("services.matching")
        workers = pymongo.MongoClient(self.settings.mongodb_uri)[self.settings.database][WORKERS]
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                for name, process in self._running():
                    if process.poll() is not None:
                        raise AssertionError(f"matching's {name} exited with {process.returncode}: {self.log_tail()}")
                pids = [w.pid for w in self._workers if w is not None]
                if workers.count_documents({"pid": {"$in": pids}, "ready": True}) == len(pids):
                    try:
                        if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                            return
                    except httpx.HTTPError:
                        pass
                time.sleep(0.3)
        finally:
            workers.database.client.close()
        raise AssertionError(f"matching not ready after {timeout}s: {self.log_tail()}")

    def restart(self, timeout: float = 150.0) -> None:
        """Start again whatever was killed, and wait until ready."""
        self._workers = [w if w is not None and w.poll() is None else None for w in self._workers]
        self.start(timeout)

    @property
    def pid(self) -> int:
        """The (first) stream worker's pid."""
        assert self._worker is not None
        return self._worker.pid

    def kill_worker(self, n: int) -> None:
        """SIGKILL to worker ``n`` and its children (its projection process): a crash."""
        worker = self._workers[n - 1]
        assert worker is not None and worker.poll() is None
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(10)

    def children(self) -> list[int]:
        """The pids of the worker's children (the projection process)."""
        tasks = Path(f"/proc/{self.pid}/task")
        return [int(pid) for task in tasks.iterdir() for pid in (task / "children").read_text().split()]

    def kill(self) -> None:
        """SIGKILL to every process: no shutdown hook runs, as in a crash."""
        for _, process in self._running():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
        self._workers = [None] * len(self._workers)

    def stop(self) -> None:
        for _, process in reversed(self._running()):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(10)

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture
def matching_settings(make_settings, tmp_path: Path) -> Settings:
    return make_settings(Settings, port=free_port(), datadir=tmp_path / "matching-data")


@pytest.fixture
def matching_process(matching_settings: Settings, tmp_path: Path) -> Iterator[MatchingProcess]:
    process = MatchingProcess(matching_settings, tmp_path / "matching.log")
    try:
        yield process
    finally:
        process.stop()


class Publisher:
    """Publishes input events as the listing and sessions services would, keyed per the registry."""

    def __init__(self, settings: Settings):
        self._settings = settings
        self.producer = Producer(settings, client_id="matching-tests")

    async def publish(self, type_name: str, data: EventData, *, key: str) -> CloudEvent:
        event = new_event(type_name, data, source="/tests", subject=key)
        await self.producer.send_event(topic_of_event(type_name).full_name(self._settings.topic_prefix), event,
                                       key=key)
        return event

    async def participant(self, participant_id: str, party_type: PartyType) -> None:
        await self.publish("participant.registered.v1", ParticipantData(
            id=participant_id, party_type=party_type, organisation=LocalizedText(zh=f"机构{participant_id}"),
            display_name=LocalizedText(en=participant_id), region="CN-SC.CD", fields=["5G"]), key=participant_id)

    async def item(self, item: ItemData, verb: str = "created") -> CloudEvent:
        entity = "listing" if item.side == "offer" else "demand"
        return await self.publish(f"{entity}.{verb}.v1", item, key=item.id)


@pytest.fixture
async def publisher(matching_settings: Settings) -> Iterator[Publisher]:
    publisher = Publisher(matching_settings)
    yield publisher
    await publisher.producer.stop()
