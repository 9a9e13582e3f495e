"""Lag in seconds against a producer with a known rate, and alerts raised then cleared on Kafka."""

from __future__ import annotations

import asyncio
import time

import pytest

from services.monitor.app import create_app
from shared import topics
from tests.integration.monitor.conftest import OPERATOR
from tests.support import read_events, running

pytestmark = pytest.mark.integration

RATE = 20  # records per second
SAMPLE_EVERY = 0.25


async def test_lag_seconds_follows_a_producer_with_a_known_rate(cluster, monitor, namespace):
    runtime, client = monitor
    topic = await cluster.topic("telemetry")
    await cluster.produce(topic, 50)  # already there before the first sample: a backfill
    await cluster.commit("reader", {(topic, 0): 0})
    appended: dict[int, float] = {}

    async def produce_at_known_rate() -> None:
        for _ in range(RATE * 3):
            started = time.time()
            (offset,) = await cluster.produce(topic, 1)
            appended[offset] = time.time()
            await asyncio.sleep(max(0.0, 1 / RATE - (time.time() - started)))

    await runtime.sample_once()
    producing = asyncio.create_task(produce_at_known_rate())
    while not producing.done():
        await runtime.sample_once()
        await asyncio.sleep(SAMPLE_EVERY)
    await producing
    committed = 50 + RATE  # the record produced about one second into the run
    await cluster.commit("reader", {(topic, 0): committed})
    await cluster.commit("backfill", {(topic, 0): 10})
    snapshot = await runtime.sample_once()

    partition = (await client.get(f"/lag/{namespace}reader")).json()["partitions"][0]
    truth = snapshot.at - appended[committed]
    assert partition["lag_seconds_bound"] == "estimate"
    assert partition["lag_seconds"] == pytest.approx(truth, abs=2 * SAMPLE_EVERY)
    assert partition["lag"] == RATE * 3 - RATE

    # The backfill group appears only now; the partition's timeline (kept per partition) is older.
    backfill = (await client.get(f"/lag/{namespace}backfill")).json()["partitions"][0]
    assert backfill["lag_seconds_bound"] == "at_least"
    assert backfill["lag_seconds"] >= partition["lag_seconds"]  # bounded by the oldest sample, no wild slope
    assert backfill["lag_seconds"] < truth + 3.0


async def test_alerts_are_published_and_clear_themselves(cluster, registry_topics, monitor_settings, namespace):
    app = create_app(monitor_settings(alert_lag_messages=5), sample=False)
    async with running(app, headers=OPERATOR) as client:
        runtime = app.state.runtime
        topic = await cluster.topic("invoices")
        await cluster.produce(topic, 10)
        await cluster.commit("billing", {(topic, 0): 0})
        await runtime.sample_once()
        active = (await client.get("/dashboard/data")).json()["alerts"]
        assert [a["alert_id"] for a in active] == [f"lag_messages:{namespace}billing"]
        await cluster.commit("billing", {(topic, 0): 10})
        await runtime.sample_once()
        assert (await client.get("/dashboard/data")).json()["alerts"] == []
        events = await read_events(registry_topics.kafka_bootstrap_servers,
                                   topics.ALERTS.full_name(namespace), count=2)
    assert [e.type for e in events] == ["alert.raised.v1", "alert.cleared.v1"]
    raised = events[0].data
    assert raised.alert_id == events[1].data.alert_id == f"lag_messages:{namespace}billing"
    assert raised.value == 10 and raised.threshold == 5 and raised.severity == "warning"
    assert raised.message.zh and raised.message.en
