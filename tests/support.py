"""Helpers for integration tests: read events back from Kafka, run an app in-process, wait."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import httpx
from aiokafka import AIOKafkaConsumer, ConsumerRecord
from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings import kafka as cloudevents_kafka
from cloudevents.core.formats.json import JSONFormat
from fastapi import FastAPI

from shared.events import CloudEvent, decode
from shared.settings import DEV_OPERATOR_TOKEN

T = TypeVar("T")
# The operator's headers in local mode, e.g. for /metrics.
OPERATOR = {"Authorization": f"Bearer {DEV_OPERATOR_TOKEN}"}


async def read_records(bootstrap: str, topic: str, *, count: int, timeout: float = 20.0) -> list[ConsumerRecord]:
    """Read ``count`` records from the start of ``topic`` (fails the test after ``timeout`` s)."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None)
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
