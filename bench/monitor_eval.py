"""The monitor against the local broker: one full evaluation of 200 consumer groups x 50
partitions (ListGroups, DescribeGroups, OffsetFetch, ListOffsets, then lag seconds and Burrow
statuses), compared in the same run with Kafka's own `kafka-consumer-groups --describe` over the
same groups; and the monitor's CPU share while it samples every 5 s.

Groups and topics live under a unique prefix and are deleted afterwards. The 200 groups share a
few 50-partition topics (each group commits on all 50 partitions of one topic), so the monitor
sees 10,000 group-partitions without 10,000 broker partitions on a shared single broker.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.common import kafka_security, median, write_section
from hardtech.infra import kafka
from services.monitor.domain.monitor import LagMonitor, MonitorConfig
from services.monitor.events import KafkaSampler
from services.monitor.settings import Settings
from shared.settings import CommonSettings

GROUPS = 200
PARTITIONS = 50
TOPICS = 4
RECORDS_PER_PARTITION = 20
TOOL = "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand"


async def _commit(bootstrap: str, group: str, topic: str, lag: int) -> None:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
                                **kafka_security(bootstrap))
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(tps)
        await consumer.commit({tp: RECORDS_PER_PARTITION - lag for tp in tps})
    finally:
        await consumer.stop()


async def setup(bootstrap: str, prefix: str) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **kafka_security(bootstrap))
    await admin.start()
    topics = [f"{prefix}topic-{i}" for i in range(TOPICS)]
    await admin.create_topics([NewTopic(t, PARTITIONS, 1) for t in topics])
    await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, **kafka_security(bootstrap))
    await producer.start()
    await asyncio.gather(*[await producer.send(t, b"x", partition=p) for t in topics for p in range(PARTITIONS)
                           for _ in range(RECORDS_PER_PARTITION)])
    await producer.stop()
    groups = [f"{prefix}group-{i:03d}" for i in range(GROUPS)]
    for start in range(0, GROUPS, 20):
        await asyncio.gather(*(_commit(bootstrap, g, topics[i % TOPICS], i % 5)
                               for i, g in enumerate(groups[start:start + 20], start=start)))
    return topics


async def cleanup(bootstrap: str, topics: list[str], groups: list[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **kafka_security(bootstrap))
    await admin.start()
    await admin.delete_topics(topics)
    await admin.close()
    group_flags = [flag for g in groups for flag in ("--group", g)]
    await asyncio.to_thread(kafka.tool, TOOL, "--bootstrap-server", bootstrap, "--delete", *group_flags,
                            *kafka.command_config(CommonSettings(kafka_bootstrap_servers=bootstrap)))


async def evaluate(sampler: KafkaSampler, monitor: LagMonitor) -> tuple[float, float, int]:
    started = time.perf_counter()
    observation = await sampler.observe()
    sampled = time.perf_counter()
    snapshot = monitor.observe(observation)
    return sampled - started, time.perf_counter() - sampled, sum(g.total_lag for g in snapshot.groups.values())


def tool_describe(bootstrap: str, groups: list[str]) -> tuple[float, int]:
    flags = [flag for g in groups for flag in ("--group", g)]
    started = time.perf_counter()
    result = kafka.tool(TOOL, "--bootstrap-server", bootstrap, "--describe", *flags,
                        *kafka.command_config(CommonSettings(kafka_bootstrap_servers=bootstrap)))
    elapsed = time.perf_counter() - started
    total = 0
    for line in result.stdout.splitlines():
        fields = line.split()
        if len(fields) >= 6 and fields[2].isdigit() and fields[5].isdigit():
            total += int(fields[5])
    return elapsed, total


async def cpu_share(sampler: KafkaSampler, monitor: LagMonitor, seconds: float, interval: float) -> float:
    cpu, wall = time.process_time(), time.monotonic()
    while time.monotonic() - wall < seconds:
        began = time.monotonic()
        await evaluate(sampler, monitor)
        await asyncio.sleep(max(0.0, interval - (time.monotonic() - began)))
    return (time.process_time() - cpu) / (time.monotonic() - wall)


async def main(quick: bool) -> None:
    bootstrap = kafka.bootstrap()
    prefix = f"bench-mon-{uuid.uuid4().hex[:8]}-"
    groups = [f"{prefix}group-{i:03d}" for i in range(GROUPS)]
    started = time.perf_counter()
    topics = await setup(bootstrap, prefix)
    print(f"set up {GROUPS} groups x {PARTITIONS} partitions in {time.perf_counter() - started:.1f}s", flush=True)
    settings = Settings(group_prefix=prefix, topic_prefix=prefix, sample_timeout_seconds=60)
    sampler = KafkaSampler(settings)
    monitor = LagMonitor(MonitorConfig())
    try:
        await evaluate(sampler, monitor)  # warm-up: connections and metadata
        runs = [await evaluate(sampler, monitor) for _ in range(3 if quick else 7)]
        tool_runs = [await asyncio.to_thread(tool_describe, bootstrap, groups) for _ in range(1 if quick else 3)]
        share = await cpu_share(sampler, monitor, 20 if quick else 60, 5.0)
    finally:
        await sampler.close()
        await cleanup(bootstrap, topics, groups)
    ours_kafka, ours_eval = median([r[0] for r in runs]), median([r[1] for r in runs])
    ours_total = ours_kafka + ours_eval
    tool_time = median([t[0] for t in tool_runs])
    lag_ours, lag_tool = runs[-1][2], tool_runs[-1][1]
    rows = [
        ("monitor: Kafka round trips (list, describe, offsets, list offsets)", f"{ours_kafka * 1000:.0f} ms"),
        ("monitor: evaluation (lag seconds, Burrow windows, history)", f"{ours_eval * 1000:.0f} ms"),
        ("monitor: full evaluation", f"{ours_total * 1000:.0f} ms"),
        ("kafka-consumer-groups --describe, same 200 groups (JVM start included)", f"{tool_time * 1000:.0f} ms"),
        ("ratio tool / monitor", f"{tool_time / ours_total:.1f}x"),
        ("total lag, monitor vs tool (must be equal)", f"{lag_ours} vs {lag_tool}"),
        (f"monitor CPU share sampling every 5 s for {20 if quick else 60} s", f"{share * 100:.1f}% of one core"),
    ]
    table = "| measure | median |\n|---|---|\n" + "\n".join(f"| {a} | {b} |" for a, b in rows)
    print(table)
    body = (f"{GROUPS} groups x {PARTITIONS} partitions = {GROUPS * PARTITIONS} group-partitions on {TOPICS} "
            f"topics of {PARTITIONS} partitions; {len(runs)} monitor runs, {len(tool_runs)} tool run(s)"
            f"{' (--quick)' if quick else ''}. Comparison: Kafka's own ConsumerGroupCommand describing the same "
            f"groups in the same run.\n\n{table}\n")
    print(f"wrote {write_section('monitor', 'Monitor: full lag evaluation and CPU share', body)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer runs and a 20 s CPU window (under 2 minutes)")
    asyncio.run(main(parser.parse_args().quick))
