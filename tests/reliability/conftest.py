"""The whole product as real processes for the reliability suite, one stack for the package: all
six services started with ``python -m services.<name>`` under a fresh namespace (topic prefix,
consumer groups, databases), each on a free port, each waited on until ``/readyz`` answers 200.
Tests kill -9 and restart them.

Processes are ``hardtech.procs.Proc`` named ``<namespace><service>``, so their pid files and logs
(under ``hardtech.paths.RUN``) never touch the dev stack's."""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from hardtech.errors import SetupError
from hardtech.namespace import delete_namespace
from hardtech.paths import ROOT
from hardtech.procs import Proc, wait_until
from shared import outbox, topics
from shared.kafka import ensure_topics
from shared.mongo import make_client
from shared.settings import CommonSettings
from tests.infrastructure import Endpoints
from tests.reliability.workload import CONSUMER_GROUPS, Apis, topic_records
from tests.support import free_port

SERVICE_NAMES = ("listing", "events_sessions", "matching", "notification", "monitor", "deals")
# Every process of the stack: the services' APIs, and matching's stream worker (which serves no
# HTTP; matching's /readyz reports it).
MATCHING_WORKER = "matching-worker"
PROCESS_NAMES = (*SERVICE_NAMES, MATCHING_WORKER)
# The collections whose documents carry an outbox, per service.
OUTBOX_COLLECTIONS = {"listing": ("participants", "listings", "demands"), "events_sessions": ("sessions",),
                      "matching": ("feedback",), "monitor": ("alerts",), "deals": ("deals", "conversion_priors")}
READY_TIMEOUT = 180.0  # matching restores its faust tables before it is ready; a loaded machine takes minutes


def fast_settings(namespace: str) -> dict[str, str]:
    """Shorter polls than production, so that a test waits seconds, not minutes."""
    return {
        "LISTING_RELAY_POLL_SECONDS": "0.2",
        "LISTING_AUTH_RATE_PER_IP": "100000",
        "LISTING_SIGNUP_RATE_PER_IP": "100000",  # every workload participant signs up from 127.0.0.1
        "EVENTS_SESSIONS_CLOSER_INTERVAL_SECONDS": "1",
        "NOTIFICATION_ALLOW_PRIVATE_WEBHOOKS": "true",
        "NOTIFICATION_DELIVERY_POLL_SECONDS": "0.2",
        "MONITOR_GROUP_PREFIX": namespace,
        "MONITOR_SAMPLE_INTERVAL_SECONDS": "1",
    }


@dataclass
class ServiceProcess:
    """One service as a process: always the same port, database and namespace across restarts."""

    name: str
    namespace: str
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    instance: str = ""  # tells a second process of the same service apart
    module: str = ""  # what ``python -m`` runs, when not the service itself (a test's fault-injecting wrapper)

    @property
    def proc(self) -> Proc:
        return Proc(f"{self.namespace}{self.name}{self.instance}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def database(self) -> str:
        return self.env[f"{self.name.upper()}_DATABASE"]

    def ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/readyz", timeout=3).status_code == 200
        except httpx.HTTPError:
            return False

    def launch(self, **env: str) -> None:
        """Start the process (``env`` overrides this start only) without waiting for it."""
        if self.proc.pid() is not None:
            raise SetupError(f"{self.proc.name} is already running")
        self.proc.start([sys.executable, "-m", *(self.module.split() or [f"services.{self.name}"])],
                        env={**self.env, f"{self.name.upper()}_PORT": str(self.port), **env}, cwd=ROOT)

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        try:
            wait_until(self.ready, timeout=timeout, what=f"{self.name} /readyz on {self.url}", proc=self.proc,
                       interval=0.3)
        except SetupError as exc:
            raise SetupError(f"{exc}\n--- last lines of {self.proc.log_file} ---\n{self.proc.log_tail(40)}") from None

    def start(self, **env: str) -> None:
        self.launch(**env)
        self.wait_ready()

    def kill(self) -> None:
        """kill -9, as a crash would."""
        self.proc.kill()
        self.proc.pid_file.unlink(missing_ok=True)

    def stop(self) -> None:
        self.proc.stop(timeout=15)


@dataclass
class Stack:
    namespace: str
    endpoints: Endpoints
    services: dict[str, ServiceProcess]
    operator_token: str

    @property
    def settings(self) -> CommonSettings:
        return CommonSettings(kafka_bootstrap_servers=self.endpoints.kafka_bootstrap_servers,
                              mongodb_uri=self.endpoints.mongodb_uri, topic_prefix=self.namespace)

    def __getitem__(self, name: str) -> ServiceProcess:
        return self.services[name]

    def url(self, name: str) -> str:
        return self.services[name].url

    def topic(self, spec: topics.TopicSpec) -> str:
        return spec.full_name(self.namespace)

    def consumer_groups(self) -> list[str]:
        return [f"{self.namespace}{group}" for group in CONSUMER_GROUPS]

    def kill(self, name: str) -> None:
        self.services[name].kill()

    def start(self, name: str) -> None:
        self.services[name].start()

    def restart(self, name: str) -> None:
        self.kill(name)
        self.start(name)

    def all_ready(self) -> bool:
        return all(s.ready() for s in self.services.values())

    def apis(self) -> Apis:
        return Apis.of({name: self.services[name].url for name in SERVICE_NAMES}, self.operator_token)

    async def pending_outboxes(self) -> dict[str, int]:
        """Per service collection that carries an outbox, how many documents still hold events."""
        mongo = make_client(self.endpoints.mongodb_uri)
        try:
            counts = {f"{name}.{collection}": await mongo[self.services[name].database][collection]
                      .count_documents({outbox.PENDING: True})
                      for name, collections in OUTBOX_COLLECTIONS.items() for collection in collections}
        finally:
            await mongo.close()
        return {where: count for where, count in counts.items() if count}

    async def dead_lettered(self) -> dict[str, int]:
        """Records on each dead-letter topic of the stack."""
        return {spec.name: len(await topic_records(self.endpoints.kafka_bootstrap_servers, self.topic(spec)))
                for spec in topics.DEAD_LETTERS}


def worker_beside(matching: ServiceProcess) -> ServiceProcess:
    """Matching's stream worker for this matching API process: same namespace, settings and port
    (its readiness is the API's /readyz)."""
    return ServiceProcess("matching", matching.namespace, matching.env, port=matching.port, instance="-worker",
                          module="services.matching.worker")


def service_environment(namespace: str, endpoints: Endpoints, datadir: Path) -> dict[str, dict[str, str]]:
    common = {"HARDTECH_TOPIC_PREFIX": namespace, "KAFKA_BOOTSTRAP_SERVERS": endpoints.kafka_bootstrap_servers,
              "MONGODB_URI": endpoints.mongodb_uri, **fast_settings(namespace)}
    envs = {}
    for name in SERVICE_NAMES:
        env = {**common, f"{name.upper()}_DATABASE": f"{namespace.rstrip('-')}_{name}"}
        if name == "matching":
            env["MATCHING_DATADIR"] = str(datadir)
        envs[name] = env
    return envs


async def drop_database(mongodb_uri: str, database: str) -> None:
    mongo = make_client(mongodb_uri)
    try:
        await mongo.drop_database(database)
    finally:
        await mongo.close()


@pytest.fixture(scope="package")
def stack_namespace() -> str:
    return f"r{uuid.uuid4().hex[:9]}-"


@pytest.fixture(scope="package")
async def stack(infra: Endpoints, stack_namespace: str, tmp_path_factory: pytest.TempPathFactory
                ) -> AsyncIterator[Stack]:
    """Every service running (and matching's worker), registry topics created first; stopped and dropped afterwards."""
    namespace = stack_namespace
    envs = service_environment(namespace, infra, tmp_path_factory.mktemp("matching-data"))
    processes = {n: ServiceProcess(n, namespace, envs[n]) for n in SERVICE_NAMES}
    processes[MATCHING_WORKER] = worker_beside(processes["matching"])
    running = Stack(namespace, infra, processes, CommonSettings().operator_secret())
    await ensure_topics(running.settings, topics.ALL)
    try:
        for service in running.services.values():
            service.launch()
        for service in running.services.values():
            service.wait_ready()
        yield running
    finally:
        for service in running.services.values():
            service.stop()
        await delete_namespace(infra.kafka_bootstrap_servers, infra.mongodb_uri, namespace)


@pytest.fixture
def healthy_stack(stack: Stack) -> Iterator[Stack]:
    """The shared stack with every service running, before and after the test."""
    for service in stack.services.values():
        if service.proc.pid() is None:
            service.start()
    yield stack
    for service in stack.services.values():
        if service.proc.pid() is None:
            service.start()


@pytest.fixture
async def apis(healthy_stack: Stack) -> AsyncIterator[Apis]:
    apis = healthy_stack.apis()
    yield apis
    await apis.close()
