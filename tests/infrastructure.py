"""Finding Kafka and MongoDB for the test run, in this order: endpoints from the environment;
Docker through testcontainers where an engine answers; otherwise the project's local processes
(started here when `make test` has not started them already). One broker and one store serve
the whole run; tests isolate themselves by topic prefix and database name."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Endpoints:
    kafka_bootstrap_servers: str
    mongodb_uri: str
    origin: str
    owned: bool = False  # this test run started the local broker and store: nobody else uses them


def _docker_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@contextmanager
def _from_docker() -> Iterator[Endpoints]:
    from testcontainers.kafka import KafkaContainer
    from testcontainers.mongodb import MongoDbContainer

    with KafkaContainer("apache/kafka:4.1.1").with_kraft() as kafka, MongoDbContainer("mongo:8.0") as mongo:
        yield Endpoints(kafka.get_bootstrap_server(), mongo.get_connection_url(), "docker (testcontainers)")


@contextmanager
def _from_local_processes() -> Iterator[Endpoints]:
    from hardtech.infra import ferretdb, kafka

    with ExitStack() as cleanup:
        started = []
        for component in (kafka, ferretdb):
            component.install()
            if component.start():  # started here, so stopped here
                cleanup.callback(component.stop)
                started.append(component)
        yield Endpoints(kafka.bootstrap(), ferretdb.uri(), "local processes (Kafka jars, FerretDB)",
                        owned=len(started) == 2)


@contextmanager
def endpoints() -> Iterator[Endpoints]:
    kafka_env = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    mongo_env = os.environ.get("MONGODB_URI")
    if kafka_env and mongo_env:
        yield Endpoints(kafka_env, mongo_env, "environment")
        return
    docker = _docker_answers()
    source: Callable[[], contextmanager] = _from_docker if docker else _from_local_processes
    if not kafka_env:
        # The local broker requires SASL (the harness and the services it runs are the operators
        # there, tests/conftest.py); the container's takes PLAINTEXT.
        os.environ["KAFKA_SECURITY_PROTOCOL"] = "PLAINTEXT" if docker else "SASL_PLAINTEXT"
    with source() as found:
        yield Endpoints(kafka_env or found.kafka_bootstrap_servers, mongo_env or found.mongodb_uri, found.origin,
                        owned=found.owned and not kafka_env and not mongo_env)
