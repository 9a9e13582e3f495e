"""Fixtures of the matching service's integration tests: the service as a real process (faust
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
import pytest

from services.matching.settings import Settings
from shared.events import CloudEvent, EventData, new_event
from shared.events.common import LocalizedText
from shared.events.listing import ItemData, ParticipantData
from shared.kafka import Producer
from shared.party_types import PartyType
from shared.topics import topic_of_event
from tests.support import free_port

ROOT = Path(__file__).resolve().parents[3]


class MatchingProcess:
    """``python -m services.matching`` in its own process group, killable like a crash."""

    def __init__(self, settings: Settings, log_path: Path):
        self.settings = settings
        self.log_path = log_path
        self.url = f"http://127.0.0.1:{settings.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 150.0) -> None:
        env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": self.settings.kafka_bootstrap_servers,
               "MONGODB_URI": self.settings.mongodb_uri, "HARDTECH_TOPIC_PREFIX": self.settings.topic_prefix,
               "MATCHING_PORT": str(self.settings.port), "MATCHING_DATADIR": str(self.settings.datadir),
               "MATCHING_DATABASE": self.settings.database}
        log = self.log_path.open("ab")
        self._process = subprocess.Popen([sys.executable, "-m", "services.matching"], cwd=ROOT, env=env,
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise AssertionError(f"matching exited with {self._process.returncode}: {self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"matching not ready after {timeout}s: {self.log_tail()}")

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def children(self) -> list[int]:
        """The pids of the process's children (the projection process)."""
        tasks = Path(f"/proc/{self.pid}/task")
        return [int(pid) for task in tasks.iterdir() for pid in (task / "children").read_text().split()]

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, as in a crash."""
        if self._process is not None and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait(10)

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGTERM)
            try:
                self._process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

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
