"""Raw aiokafka produce and consume throughput against the local broker: the ceiling that the
services' benchmarks are compared with. 1 KiB messages; median of several runs."""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.common import kafka_security, median, write_section

MESSAGE = os.urandom(1024)


async def _produce(bootstrap: str, topic: str, count: int, acks: str | int) -> float:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks=acks, enable_idempotence=acks == "all",
                                linger_ms=5, max_batch_size=256 * 1024, **kafka_security(bootstrap))
    await producer.start()
    try:
        started = time.perf_counter()
        batch = [producer.send(topic, MESSAGE) for _ in range(count)]
        await asyncio.gather(*[await f for f in batch])
        return time.perf_counter() - started
    finally:
        await producer.stop()


async def _consume(bootstrap: str, topic: str, count: int) -> float:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"bench-{uuid.uuid4().hex[:8]}",
                                auto_offset_reset="earliest", fetch_max_bytes=16 * 1024 * 1024,
                                max_partition_fetch_bytes=4 * 1024 * 1024, **kafka_security(bootstrap))
    await consumer.start()
    try:
        seen = 0
        started = time.perf_counter()
        while seen < count:
            batches = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            seen += sum(len(b) for b in batches.values())
        return time.perf_counter() - started
    finally:
        await consumer.stop()


async def run(bootstrap: str, count: int, runs: int) -> str:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **kafka_security(bootstrap))
    await admin.start()
    names = [f"bench-throughput-{uuid.uuid4().hex[:8]}-{i}" for i in range(runs)]
    await admin.create_topics([NewTopic(n, 3, 1) for n in names])
    results: dict[str, list[float]] = {"produce acks=all (idempotent)": [], "produce acks=1": [], "consume": []}
    try:
        for name in names:
            results["produce acks=all (idempotent)"].append(count / await _produce(bootstrap, name, count, "all"))
            results["produce acks=1"].append(count / await _produce(bootstrap, name, count, 1))
            results["consume"].append(2 * count / await _consume(bootstrap, name, 2 * count))
    finally:
        await admin.delete_topics(names)
        await admin.close()
    rows = ["| operation | median msg/s | median MB/s | runs (msg/s) |", "|---|---:|---:|---|"]
    for operation, rates in results.items():
        rate = median(rates)
        rows.append(f"| {operation} | {rate:,.0f} | {rate * 1024 / 1e6:.1f} | "
                    f"{', '.join(f'{r:,.0f}' for r in rates)} |")
    return (f"{count:,} messages of 1 KiB per produce run, 3 partitions, one aiokafka client, "
            f"single-node KRaft broker on the same machine; median of {runs} runs.\n\n" + "\n".join(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer and smaller runs")
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    args = parser.parse_args()
    count, runs = (20_000, 3) if args.quick else (100_000, 5)
    body = asyncio.run(run(args.bootstrap, count, runs))
    print(body)
    print("wrote", write_section("kafka_throughput", "Kafka ceiling: raw aiokafka throughput", body))


if __name__ == "__main__":
    main()
