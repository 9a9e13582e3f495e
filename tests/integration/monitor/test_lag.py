"""Lag per group against the real broker: caught up, lagging, stalled, stopped, never committed;
equal to Kafka's own kafka-consumer-groups; 503 with stale values when the broker is gone."""

from __future__ import annotations

import asyncio
import re

import pytest

from services.monitor.events import KafkaSampler
from shared.settings import CommonSettings
from tests.integration.monitor.conftest import OPERATOR

pytestmark = pytest.mark.integration


def by_partition(body: dict) -> dict[int, dict]:
    return {p["partition"]: p for p in body["partitions"]}


async def test_statuses_of_caught_up_lagging_stalled_stopped_and_never_committed_groups(cluster, monitor,
                                                                                      namespace):
    runtime, client = monitor
    topic = await cluster.topic("orders", partitions=1)
    tp = (topic, 0)
    await cluster.produce(topic, 10)
    await cluster.member("stalled", topic, commit=2)  # alive, but its commit never moves
    await cluster.member("never", topic)
    for round_ in range(3):
        await cluster.commit("caught-up", {tp: 10 + 5 * round_})
        await cluster.commit("lagging", {tp: 1 + round_})
        await cluster.commit("stopped", {tp: 4})
        assert await runtime.sample_once() is not None
        await cluster.produce(topic, 5)

    bodies = {}
    for group in ("caught-up", "lagging", "stalled", "stopped", "never"):
        response = await client.get(f"/lag/{namespace}{group}")
        assert response.status_code == 200, response.text
        bodies[group] = response.json()
    # The window's last sample saw a log end of 20 (the last 5 records came after it).
    expectations = {
        "caught-up": (20, 0, "OK", "OK"),
        "lagging": (3, 17, "WARN", "WARN"),
        "stalled": (2, 18, "STALL", "ERR"),
        "stopped": (4, 16, "STOP", "ERR"),
    }
    for group, (committed, lag, partition_status, group_status) in expectations.items():
        partition = by_partition(bodies[group])[0]
        assert (partition["committed_offset"], partition["log_end_offset"], partition["lag"]) == (committed, 20, lag)
        assert (partition["status"], bodies[group]["status"]) == (partition_status, group_status), group
    assert bodies["stalled"]["members"] and by_partition(bodies["stalled"])[0]["consumer_id"]
    assert bodies["stopped"]["members"] == [] and bodies["stopped"]["state"] == "Empty"
    never = by_partition(bodies["never"])[0]
    assert never["committed_offset"] is None and never["lag"] is None and never["lag_seconds"] is None
    assert never["status"] == "STALL" and bodies["never"]["uncommitted_partitions"] == 1

    metrics = (await client.get("/metrics", headers=OPERATOR)).text
    labels = f'consumergroup="{namespace}lagging",partition="0",topic="{topic}"'
    assert f"kafka_consumergroup_lag{{{labels}}} 17.0" in metrics
    assert f"kafka_consumergroup_partition_status{{{labels}}} 2.0" in metrics  # Burrow's WARN
    assert f'kafka_consumergroup_status{{consumergroup="{namespace}stalled"}} 3.0' in metrics  # ERR
    assert f'kafka_consumergroup_uncommitted_partitions{{consumergroup="{namespace}never"}} 1.0' in metrics
    assert f'kafka_consumergroup_lag{{consumergroup="{namespace}never"' not in metrics

    listed = (await client.get("/lag", params={"limit": 2})).json()
    assert [g["group"] for g in listed["items"]] == [f"{namespace}caught-up", f"{namespace}lagging"]
    rest = (await client.get("/lag", params={"cursor": listed["next_cursor"], "limit": 10})).json()
    assert [g["group"] for g in rest["items"]] == [f"{namespace}{g}" for g in ("never", "stalled", "stopped")]
    assert rest["next_cursor"] is None


def parse_describe(output: str) -> dict[int, tuple[str, str, str]]:
    """kafka-consumer-groups --describe rows: partition -> (CURRENT-OFFSET, LOG-END-OFFSET, LAG)."""
    rows = {}
    for line in output.splitlines():
        fields = line.split()
        if len(fields) >= 6 and fields[2].isdigit():
            rows[int(fields[2])] = (fields[3], fields[4], fields[5])
    return rows


async def test_idle_group_matches_kafka_consumer_groups_describe(cluster, monitor, namespace, infra):
    from hardtech.infra import kafka

    runtime, client = monitor
    topic = await cluster.topic("payments", partitions=3)
    for partition, count in enumerate((7, 0, 12)):
        await cluster.produce(topic, count, partition)
    await cluster.commit("idle", {(topic, 0): 3, (topic, 2): 12})  # partition 1: never committed
    group = f"{namespace}idle"
    result = await asyncio.to_thread(
        kafka.tool, "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
        "--bootstrap-server", infra.kafka_bootstrap_servers, "--describe", "--group", group,
        *kafka.command_config(CommonSettings(kafka_bootstrap_servers=infra.kafka_bootstrap_servers)))
    assert result.returncode == 0, result.stderr
    theirs = parse_describe(result.stdout)
    await runtime.sample_once()
    ours = by_partition((await client.get(f"/lag/{group}")).json())
    assert set(theirs) == set(ours) == {0, 2}  # the tool lists committed partitions of a member-less group
    for partition, (current, log_end, lag) in theirs.items():
        mine = ours[partition]
        assert (str(mine["committed_offset"]), str(mine["log_end_offset"]), str(mine["lag"])) == (current, log_end,
                                                                                                 lag)


async def test_broker_down_gives_503_with_the_last_values_marked_stale(cluster, monitor, namespace, monitor_settings):
    runtime, client = monitor
    topic = await cluster.topic("audit")
    await cluster.produce(topic, 4)
    await cluster.commit("audited", {(topic, 0): 1})
    await runtime.sample_once()
    assert (await client.get(f"/lag/{namespace}audited")).status_code == 200

    runtime.sampler = KafkaSampler(monitor_settings(kafka_bootstrap_servers="127.0.0.1:1", sample_timeout_seconds=2))
    assert await runtime.sample_once() is None
    for path in (f"/lag/{namespace}audited", "/lag"):
        response = await client.get(path)
        assert response.status_code == 503
        body = response.json()
        assert re.search(r"Kafka (unreachable|did not answer)", body["detail"])
        assert body["stale"] is True and body["sampled_at"] is not None
        assert [g["group"] for g in body["items"]] == [f"{namespace}audited"]
        assert by_partition(body["items"][0])[0]["lag"] == 3
    assert "kafka_monitor_up 0.0" in (await client.get("/metrics", headers=OPERATOR)).text
    await runtime.sampler.close()


async def test_unknown_group_is_404_and_the_token_is_required(monitor, namespace):
    runtime, client = monitor
    await runtime.sample_once()
    response = await client.get(f"/lag/{namespace}nobody")
    assert response.status_code == 404 and "nobody" in response.json()["detail"]
    anonymous = await client.get("/lag", headers={"Authorization": ""})
    assert anonymous.status_code == 401
    wrong = await client.get("/dashboard/data", headers={**OPERATOR, "Authorization": "Bearer nope"})
    assert wrong.status_code == 401
