"""Helpers for integration tests: read events back from Kafka, run an app in-process, wait."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import replace
from typing import Any, TypeVar

import httpx
from aiokafka import AIOKafkaConsumer, ConsumerRecord
from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings import kafka as cloudevents_kafka
from cloudevents.core.formats.json import JSONFormat
from fastapi import FastAPI
from pymongo.monitoring import CommandListener, CommandStartedEvent

from shared.events import CloudEvent, decode
from shared.settings import DEV_OPERATOR_TOKEN, CommonSettings

T = TypeVar("T")
# The operator's headers in local mode, e.g. for /metrics.
OPERATOR = {"Authorization": f"Bearer {DEV_OPERATOR_TOKEN}"}

_PORTS_GIVEN: set[int] = set()


def free_port() -> int:
    """A loopback port nothing listens on, never the same twice in one test run: a stack's
    services are given their ports before any of them binds, and the kernel may hand a port it
    just released to the next probe."""
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port not in _PORTS_GIVEN:
            _PORTS_GIVEN.add(port)
            return port


def kafka_security(bootstrap: str) -> dict[str, Any]:
    """The security options of a test's own Kafka client: the environment's (the operators' principal
    on a broker that requires SASL, tests/conftest.py)."""
    return CommonSettings(kafka_bootstrap_servers=bootstrap).kafka_client_options()


@contextmanager
def production_principal(settings: CommonSettings, *services: str) -> Iterator[dict[str, Any]]:
    """Settings of a Kafka principal a service may run with in production mode, which refuses the
    development passwords: on a broker that requires SASL a throwaway principal with a strong
    password and the ACLs of ``services`` in ``settings``' namespace, revoked afterwards; no
    settings on a PLAINTEXT broker."""
    if not settings.kafka_sasl:
        yield {}
        return
    from hardtech import kafka_access
    from shared.auth import new_secret
    from shared.kafka_principals import service_grants

    name, password = f"{settings.topic_prefix}production", new_secret()
    admin = kafka_access.admin_client(settings)
    kafka_access.set_password(admin, name, password)
    kafka_access.grant(admin, [replace(g, principal=name) for s in services for g in service_grants(s, settings.topic_prefix)])
    try:
        yield {"kafka_sasl_username": name, "kafka_sasl_password": password}
    finally:
        kafka_access.revoke(admin, name)


async def read_records(bootstrap: str, topic: str, *, count: int, timeout: float = 20.0) -> list[ConsumerRecord]:
    """Read ``count`` records from the start of ``topic`` (fails the test after ``timeout`` s)."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None, **kafka_security(bootstrap))
    await consumer.start()
    records: list[ConsumerRecord] = []
    deadline = time.monotonic() + timeout
    try:
        while len(records) < count and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=300)
            for part in batch.values():
                records.extend(part)
    finally:
        await consumer.stop()
    assert len(records) >= count, f"expected {count} records on {topic}, got {len(records)} in {timeout}s"
    return records


async def read_events(bootstrap: str, topic: str, *, count: int, timeout: float = 20.0) -> list[CloudEvent]:
    return [decode(r.value) for r in await read_records(bootstrap, topic, count=count, timeout=timeout)]


def read_by_binding(record: ConsumerRecord) -> BaseCloudEvent:
    """``record`` read as a consumer of the CloudEvents Kafka binding reads it, headers first:
    the ``content-type`` header must announce a structured-mode event (no ``ce_`` headers of
    binary mode), then the official SDK parses the value and maps the key to ``partitionkey``."""
    headers = {name: value for name, value in record.headers}
    assert headers.get("content-type") == b"application/cloudevents+json", \
        f"{record.topic}@{record.offset}: headers {headers} announce no structured-mode CloudEvent"
    assert not [name for name in headers if name.lower().startswith("ce_")], f"binary-mode headers in {headers}"
    message = cloudevents_kafka.KafkaMessage(headers=headers, key=record.key, value=record.value)
    return cloudevents_kafka.from_structured(message, JSONFormat())


async def wait_for(probe: Callable[[], Awaitable[T | None]], *, timeout: float = 20.0, what: str,
                   interval: float = 0.2) -> T:
    """Poll ``probe`` until it returns something truthy; fail naming ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(interval)


@asynccontextmanager
async def running(app: FastAPI, **client_options: Any) -> AsyncIterator[httpx.AsyncClient]:
    """Run an app in-process with its lifespan (background tasks included) and a client to it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver", **client_options) as client:
            yield client


class CommandLog(CommandListener):
    """Every command a MongoDB client sends, to check that hot reads are ``_id`` look-ups: on
    FerretDB v1 any other filter scans the whole collection."""

    def __init__(self) -> None:
        self.commands: list[tuple[str, str, dict[str, Any]]] = []  # (name, collection, command)

    def started(self, event: CommandStartedEvent) -> None:
        command = dict(event.command)
        self.commands.append((event.command_name, str(command.get(event.command_name)), command))

    def succeeded(self, event: Any) -> None:
        pass

    def failed(self, event: Any) -> None:
        pass

    def clear(self) -> None:
        self.commands.clear()

    def filters(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(command, collection, filter) of every command that selects documents."""
        found = []
        for name, collection, command in self.commands:
            if name == "find":
                found.append((name, collection, command.get("filter", {})))
            elif name == "findAndModify":
                found.append((name, collection, command.get("query", {})))
            elif name in ("update", "delete"):
                found += [(name, collection, statement["q"]) for statement in command[f"{name}s"]]
            elif name in ("count", "aggregate", "distinct"):
                found.append((name, collection, command.get("query", command.get("pipeline", {}))))
        return found

    def lookups(self) -> dict[str, int]:
        """The finds per collection since the log was cleared (the token checks make none)."""
        found: dict[str, int] = {}
        for name, collection, _ in self.filters():
            if name == "find":
                found[collection] = found.get(collection, 0) + 1
        return found

    def scans(self) -> list[tuple[str, str, dict[str, Any]]]:
        """The selecting commands that are not an equality on one ``_id``."""
        return [(name, collection, where) for name, collection, where in self.filters()
                if name in ("count", "aggregate", "distinct") or not _by_id(where)]


def _by_id(where: Any) -> bool:
    return isinstance(where, dict) and "_id" in where and not isinstance(where["_id"], dict)
