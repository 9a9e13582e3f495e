"""The whole local stack: infrastructure first, then topics, then every service."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from typing import Any
from dataclasses import dataclass

import httpx

from hardtech.errors import SetupError
from hardtech import devsink, kafka_access
from hardtech.infra import ferretdb, kafka
from hardtech.paths import DATA, RUN
from hardtech.procs import Proc, port_open, require_free_port, wait_until
from shared import topics
from shared.kafka import ensure_topics
from shared.kafka_principals import SERVICES as SERVICE_PRINCIPALS
from shared.settings import CommonSettings


@dataclass(frozen=True)
class Service:
    name: str
    default_port: int
    start_seconds: float = 60  # how long it may take to become ready
    # Processes of the service that serve no HTTP (``python -m <module>``), started before its API
    # and stopped after it; the API's /readyz reports them (matching's stream worker).
    # ``<SERVICE>_WORKERS`` of each (default 1) run, numbered by ``<SERVICE>_WORKER`` from 1.
    workers: tuple[str, ...] = ()

    @property
    def port(self) -> int:
        return int(os.environ.get(f"{self.name.upper()}_PORT", self.default_port))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def proc(self) -> Proc:
        return Proc(self.name)

    @property
    def worker_count(self) -> int:
        return max(1, int(os.environ.get(f"{self.name.upper()}_WORKERS", "1")))

    @property
    def worker_procs(self) -> list[tuple[Proc, str, dict[str, str]]]:
        """Each worker process to run: its ``Proc`` (``matching-worker``, ``matching-worker-2`` …),
        module, and the environment that tells it which one it is."""
        return [(self._worker_proc(module, n), module, {f"{self.name.upper()}_WORKER": str(n)})
                for module in self.workers for n in range(1, self.worker_count + 1)]

    def _worker_proc(self, module: str, n: int) -> Proc:
        return Proc(f"{self.name}-{module.rsplit('.', 1)[-1]}" + ("" if n == 1 else f"-{n}"))

    def running_worker_procs(self) -> list[Proc]:
        """Every worker process that has a pid file, however many the environment asks for now."""
        names = {f"{self.name}-{module.rsplit('.', 1)[-1]}" for module in self.workers}
        found = {path.stem for path in RUN.glob("*.pid")
                 if path.stem in names or path.stem.rpartition("-")[0] in names}
        return [Proc(name) for name in sorted(found)]

    def ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False


SERVICES = (
    Service("listing", 8001),
    Service("events_sessions", 8002),
    # The query API, and its stream workers (``MATCHING_WORKERS``, default 1; worker 1 runs the
    # projection process). On a restart a worker first rebuilds its engine from its tables: 922
    # open items took 78 s at load 12.
    Service("matching", 8003, start_seconds=600, workers=("services.matching.worker",)),
    Service("notification", 8004),
    Service("monitor", 8005),
    Service("web", 8006),
    Service("deals", 8007),
)


def service(name: str) -> Service:
    return next(s for s in SERVICES if s.name == name)

Report = Callable[[str], None]


def external_kafka() -> str | None:
    return os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or None


def external_mongodb() -> str | None:
    return os.environ.get("MONGODB_URI") or None


def endpoints() -> dict[str, str]:
    return {
        "KAFKA_BOOTSTRAP_SERVERS": external_kafka() or kafka.bootstrap(),
        "MONGODB_URI": external_mongodb() or ferretdb.uri(),
    }


SINK = Proc("devsink")


def kafka_principal_environment(name: str) -> dict[str, str]:
    """A service's own Kafka principal where the cluster requires SASL (the web app uses none)."""
    settings = CommonSettings()
    if not settings.kafka_sasl or name not in SERVICE_PRINCIPALS:
        return {}
    return {"KAFKA_SASL_USERNAME": name, "KAFKA_SASL_PASSWORD": kafka_access.service_password(settings, name)}


def service_environment(name: str) -> dict[str, str]:
    """What the local stack gives a service: the endpoints, its Kafka principal, a state directory
    for matching, the dev sink as SMTP server and (private-address) webhook receiver, and room
    for the demo."""
    return {
        **endpoints(),
        **kafka_principal_environment(name),
        "MATCHING_DATADIR": str(DATA / "matching"),
        "NOTIFICATION_SMTP_HOST": "127.0.0.1",
        "NOTIFICATION_SMTP_PORT": str(devsink.SMTP_PORT),
        "NOTIFICATION_ALLOW_PRIVATE_WEBHOOKS": "true",
        # The demo registers hundreds of participants from one address; the per-key and per-e-mail
        # limits stay.
        "LISTING_AUTH_RATE_PER_IP": "2000",
        "LISTING_SIGNUP_RATE_PER_IP": "2000",
        # The web app calls the others at their ports, which the environment may have moved.
        **{f"WEB_{s.name.upper()}_URL": s.url for s in SERVICES if s.name != "web"},
        "NOTIFICATION_WEB_URL": service("web").url,  # notices link to the app
    }


def operator_token() -> str:
    """The operator's token for the CLI's own calls (the demo, the lag table)."""
    token = CommonSettings().operator_secret()
    if token is None:
        raise SetupError("HARDTECH_OPERATOR_TOKEN is not set (outside local mode it must be)")
    return token


def start_sink(report: Report) -> None:
    if SINK.pid() is None:
        require_free_port("127.0.0.1", devsink.SMTP_PORT, "the dev mail sink")
        require_free_port("127.0.0.1", devsink.HTTP_PORT, "the dev webhook sink")
        SINK.start([sys.executable, "-m", "hardtech.devsink"])
    wait_until(lambda: port_open("127.0.0.1", devsink.HTTP_PORT) and port_open("127.0.0.1", devsink.SMTP_PORT),
               timeout=20, what="the dev mail and webhook sink", proc=SINK)
    report(f"dev sink: SMTP on 127.0.0.1:{devsink.SMTP_PORT}, webhooks on http://127.0.0.1:{devsink.HTTP_PORT}")


def install(report: Report) -> None:
    if external_kafka() is None:
        report("Kafka jars: " + ("downloaded from Maven Central" if kafka.install() else "already installed"))
    if external_mongodb() is None:
        report(f"FerretDB {ferretdb.VERSION}: " + ("built" if ferretdb.install() else "already built"))


def start_infrastructure(report: Report) -> None:
    ends = endpoints()
    if external_kafka() is None:
        report("Kafka: " + ("started" if kafka.start() else "already running") + f" on {kafka.bootstrap()}")
    else:
        external = CommonSettings(kafka_bootstrap_servers=ends["KAFKA_BOOTSTRAP_SERVERS"])
        wait_until(lambda: kafka.healthy(external), timeout=30,
                   what=f"the Kafka cluster at {ends['KAFKA_BOOTSTRAP_SERVERS']} to answer metadata")
        report(f"Kafka: using {ends['KAFKA_BOOTSTRAP_SERVERS']}")
    if external_mongodb() is None:
        report("FerretDB: " + ("started" if ferretdb.start() else "already running") + f" on {ferretdb.uri()}")
    else:
        wait_until(lambda: ferretdb.healthy(ends["MONGODB_URI"]), timeout=30,
                   what="the MongoDB at MONGODB_URI to answer hello")
        report("MongoDB: using MONGODB_URI")
    values: dict[str, Any] = {k.lower(): v for k, v in ends.items()}
    settings = CommonSettings(**values)
    created = asyncio.run(ensure_topics(settings, topics.ALL))
    report(f"topics: {len(created)} created, {len(topics.ALL) - len(created)} already there")
    if settings.kafka_sasl:
        acls = kafka_access.provision_services(settings)
        report(f"Kafka principals: {len(SERVICE_PRINCIPALS)} services, {acls} ACLs (SASL/SCRAM-SHA-512)")


def start_services(report: Report, names: list[str] | None = None) -> None:
    chosen = [s for s in SERVICES if names is None or s.name in names]
    started = []
    for service in chosen:
        for proc, module, env in service.worker_procs:
            if proc.pid() is None:
                proc.start([sys.executable, "-m", module], env={**service_environment(service.name), **env})
                started.append(service)
        if service.proc.pid() is None:
            require_free_port("127.0.0.1", service.port, f"the {service.name} service")
            service.proc.start([sys.executable, "-m", f"services.{service.name}"],
                               env=service_environment(service.name))
            started.append(service)
    for service in chosen:
        def ready(service: Service = service) -> bool:
            return _workers_running(service) and service.ready()

        wait_until(ready, timeout=service.start_seconds, what=f"{service.name} /readyz on {service.url}",
                   proc=service.proc)
        report(f"{service.name}: {'started' if service in started else 'already running'}, ready at {service.url}")


def _workers_running(service: Service) -> bool:
    for proc, _, _ in service.worker_procs:
        if proc.pid() is None:
            raise SetupError(f"{proc.name} exited; see {proc.log_file}:\n{proc.log_tail()}")
    return True


def stop_all(report: Report) -> None:
    for service in reversed(SERVICES):
        if service.proc.stop(timeout=15):
            report(f"{service.name}: stopped")
        for proc in service.running_worker_procs():
            if proc.stop(timeout=15):
                report(f"{proc.name}: stopped")
    if SINK.stop(timeout=5):
        report("dev sink: stopped")
    if ferretdb.stop():
        report("FerretDB: stopped")
    if kafka.stop():
        report("Kafka: stopped")


def status() -> list[tuple[str, str, str]]:
    rows = [
        ("kafka", _state(kafka.PROC, kafka.healthy) if external_kafka() is None else "external",
         external_kafka() or kafka.bootstrap()),
        ("ferretdb", _state(ferretdb.PROC, ferretdb.healthy) if external_mongodb() is None else "external",
         "MONGODB_URI" if external_mongodb() else ferretdb.uri()),
    ]
    for s in SERVICES:
        rows.append((s.name, _state(s.proc, s.ready), s.url))
        rows += [(proc.name, _state(proc, s.ready), f"reported by {s.url}/readyz") for proc, _, _ in s.worker_procs]
    rows.append(("devsink", _state(SINK, lambda: port_open("127.0.0.1", devsink.HTTP_PORT)),
                 f"smtp://127.0.0.1:{devsink.SMTP_PORT} http://127.0.0.1:{devsink.HTTP_PORT}"))
    return rows


def _state(proc: Proc, healthy: Callable[[], bool]) -> str:
    pid = proc.pid()
    if pid is None:
        return "stopped"
    return f"healthy (pid {pid})" if healthy() else f"running, not healthy (pid {pid})"


def ensure_ready_or_explain() -> None:
    not_ready = [s.name for s in SERVICES if not s.ready()]
    if not_ready:
        raise SetupError(f"not ready: {', '.join(not_ready)}; run `make up` (or `hardtech up`)")
