"""The matching service on the local broker: sustained events per second on one worker with many
open items, and the latency from an item's event to its match event at a steady 500 events/s (and,
for comparison, at half the rate it sustains, which it keeps up with).
Compared in the same run with the same events handled in-process by the service's ``Processor``
(no Kafka, no faust), which shows what the stream plumbing costs."""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.common import free_port, median, percentile, write_section
from bench.matching_candidates import Corpus
from hardtech.namespace import delete_namespace
from services.matching.processor import Processor, State
from services.matching.settings import Settings
from shared import topics
from shared.events import decode, encode, new_event
from shared.events.listing import ItemData
from shared.kafka import ensure_topics
from shared.party_types import Side
from shared.settings import DEV_OPERATOR_TOKEN

OPERATOR = {"Authorization": f"Bearer {DEV_OPERATOR_TOKEN}"}
ROOT = Path(__file__).resolve().parents[1]
RATE = 500
GRACE_SECONDS = 3.0  # after the last send of the latency run, for match events still on their way
POLL_SECONDS = 0.5  # /metrics polling: its rendering runs on the worker's event loop
WHERE_THE_TIME_GOES = (
    "Where the time goes (py-spy of the worker during a burst over 5,000 open items, 20 s, 2026-11-27): the "
    "worker keeps about 0.85 of a core busy. The `Processor` takes about 53% of its samples (candidate search "
    "18%, scoring and explaining the best candidates 10%, serialising the outputs ~7%). The rest follows from the "
    "fan-out: each new item emits about 16 outputs (9.9 matches and 6.4 consortia, counted in-process), and each "
    "is sent to Kafka (~8%) and recorded in the ledger table with its changelog record (~4%, besides ~5% for "
    "ledger look-ups). The MongoDB projection runs in a process of its own; as an agent in the worker it took "
    "~8% of the worker, and the Kafka client's fetching thread, which then also read the outputs back, ~8% "
    "(now 2.5%).")


def _items(corpus: Corpus, start: int, count: int) -> list[ItemData]:
    return [corpus.item(n, Side.OFFER if n % 2 else Side.NEED) for n in range(start, start + count)]


def _event(item: ItemData) -> bytes:
    entity = "listing" if item.side is Side.OFFER else "demand"
    return encode(new_event(f"{entity}.created.v1", item, source="/bench", subject=item.id))


def _topic(settings: Settings, item: ItemData) -> str:
    return (topics.LISTINGS if item.side is Side.OFFER else topics.DEMANDS).full_name(settings.topic_prefix)


def _start(settings: Settings, log: Path, ready_within: float = 90) -> subprocess.Popen[bytes]:
    env = {**os.environ, "HARDTECH_TOPIC_PREFIX": settings.topic_prefix, "MATCHING_PORT": str(settings.port),
           "MATCHING_DATADIR": str(settings.datadir), "MATCHING_DATABASE": settings.database,
           "HARDTECH_LOG_LEVEL": "WARNING"}
    # The stream worker (what is measured), and the query API in the worker's process group, so
    # that one killpg ends both.
    process = subprocess.Popen([sys.executable, "-m", "services.matching.worker"], cwd=ROOT, env=env,
                               stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
    subprocess.Popen([sys.executable, "-m", "services.matching"], cwd=ROOT, env=env, stdout=log.open("ab"),
                     stderr=subprocess.STDOUT, process_group=process.pid)
    deadline = time.monotonic() + ready_within
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{settings.port}/readyz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.5)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)
    raise RuntimeError(f"matching did not get ready; see {log}")


async def _processed(client: httpx.AsyncClient) -> int:
    text = (await client.get("/metrics", headers=OPERATOR)).text
    return int(sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith('events_consumed_total{service="matching"')))


async def _publish_all(producer: AIOKafkaProducer, settings: Settings, items: list[ItemData]) -> None:
    futures = [await producer.send(_topic(settings, item), _event(item), key=item.id.encode()) for item in items]
    await asyncio.gather(*futures)


async def _until_processed(client: httpx.AsyncClient, target: int, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while (done := await _processed(client)) < target:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {done} of {target} events processed after {timeout}s")
        await asyncio.sleep(POLL_SECONDS)
    return time.monotonic()


async def _latency(producer: AIOKafkaProducer, settings: Settings, items: list[ItemData],
                   rate: float) -> tuple[list[float], int]:
    """Publish at ``rate`` events/s; the time from each send to the first match event naming the item."""
    consumer = AIOKafkaConsumer(topics.MATCHES.full_name(settings.topic_prefix),
                                bootstrap_servers=settings.kafka_bootstrap_servers, auto_offset_reset="latest",
                                enable_auto_commit=False, group_id=None, fetch_max_wait_ms=5,
                                **settings.kafka_client_options())
    await consumer.start()
    while not consumer.assignment():
        await asyncio.sleep(0.05)
    for tp in consumer.assignment():
        await consumer.position(tp)
    sent: dict[str, float] = {}
    latencies: dict[str, float] = {}

    async def receive() -> None:
        while True:
            for records in (await consumer.getmany(timeout_ms=20)).values():
                now = time.monotonic()
                for record in records:
                    data = decode(record.value).data
                    for side in (data.offer.item_id, data.need.item_id):
                        if side in sent and side not in latencies:
                            latencies[side] = now - sent[side]

    receiver = asyncio.create_task(receive())
    started = time.monotonic()
    for n, item in enumerate(items):
        await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
        sent[item.id] = time.monotonic()
        await producer.send(_topic(settings, item), _event(item), key=item.id.encode())
    await asyncio.sleep(GRACE_SECONDS)
    receiver.cancel()
    await consumer.stop()
    return sorted(latencies.values()), len(items)


def _busy_seconds() -> float:
    """CPU time the machine has spent busy so far, all cores and processes together (/proc/stat)."""
    ticks = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = ticks[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


async def _until_idle(timeout: float = 900) -> None:
    """Wait until the machine uses under a tenth of a core: after the worker has handled a burst's
    events, its projection process still writes their outputs into MongoDB (FerretDB busy as
    much), and the worker works out the consortia it deferred."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = _busy_seconds()
        await asyncio.sleep(1.0)
        if _busy_seconds() - before < 0.1:
            return
    raise RuntimeError(f"the machine was still busy {timeout:.0f}s after the burst")


def _rss_mib(pid: int, field: str = "VmRSS") -> float:
    """A process's resident memory (``VmHWM``: its peak), from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} for process {pid}")


def _in_process(items: list[ItemData], events_count: int) -> float:
    """Events/s of the same work in-process: Processor over dicts, the last ``events_count`` timed."""
    processor = Processor(State(items={}, participants={}, feedback={}, sessions={}, ledger={}))
    events = [decode(_event(item)) for item in items]
    warm, timed = events[:-events_count], events[-events_count:]
    batch = processor.new_batch()
    for position, event in enumerate(warm):
        processor.handle(event, batch, position)
    processor.finish(batch)
    processor.commit(batch)
    started = time.perf_counter()
    for position, event in enumerate(timed, start=len(warm)):
        batch = processor.new_batch()
        processor.handle(event, batch, position)
        processor.finish(batch)
        processor.commit(batch)
    return events_count / (time.perf_counter() - started)


@asynccontextmanager
async def _worker() -> AsyncIterator[tuple[Settings, subprocess.Popen[bytes], AIOKafkaProducer, httpx.AsyncClient]]:
    """A matching worker in a throw-away namespace, ready; a producer to feed it and a client of its API."""
    namespace = f"bench{uuid.uuid4().hex[:8]}-"
    workdir = Path(tempfile.mkdtemp(prefix="matching-bench-"))
    settings = Settings(topic_prefix=namespace, port=free_port(), datadir=workdir / "data",
                        database=f"{namespace.rstrip('-')}_matching")
    await ensure_topics(settings, topics.ALL)
    process = _start(settings, workdir / "matching.log")
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all", linger_ms=5,
                                enable_idempotence=True, **settings.kafka_client_options())
    await producer.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.port}", timeout=10) as client:
            yield settings, process, producer, client
    finally:
        await producer.stop()
        os.killpg(process.pid, signal.SIGKILL)  # a throw-away namespace: no graceful drain of the backlog
        process.wait(30)
        shutil.rmtree(workdir, ignore_errors=True)
        await delete_namespace(settings.kafka_bootstrap_servers, settings.mongodb_uri, namespace)


async def run(preload: int, burst: int, latency_seconds: int) -> str:
    corpus = Corpus(seed=7, topical=True)
    preload_items = _items(corpus, 0, preload)
    burst_items = _items(corpus, preload, burst)
    print(f"in-process baseline over {preload + burst} items ...", flush=True)
    # In a child process, so that its state (gigabytes at full size) is gone before the worker starts.
    with ProcessPoolExecutor(1) as child:
        baseline = child.submit(_in_process, preload_items + burst_items, burst).result()

    async with _worker() as (settings, process, producer, client):
        print(f"preloading {preload} open items ...", flush=True)
        started = time.monotonic()
        await _publish_all(producer, settings, preload_items)
        preload_done = await _until_processed(client, preload, timeout=3600)
        preload_rate = preload / (preload_done - started)
        preloaded_mib = _rss_mib(process.pid)
        print(f"burst of {burst} events over {preload} open items ...", flush=True)
        started = time.monotonic()
        await _publish_all(producer, settings, burst_items)
        burst_rate = burst / (await _until_processed(client, preload + burst, timeout=3600) - started)
        await _until_idle()
        settled_rate = burst / (time.monotonic() - started)
        # First at a rate the worker keeps up with (the run at RATE leaves a backlog behind).
        within = max(1, math.floor(settled_rate / 2))
        print(f"{within} events/s (half the rate counted until idle) for {latency_seconds}s ...", flush=True)
        within_items = _items(corpus, preload + burst, within * latency_seconds)
        latencies_within, published_within = await _latency(producer, settings, within_items, within)
        print(f"{RATE} events/s for {latency_seconds}s ...", flush=True)
        latency_items = _items(corpus, preload + burst + len(within_items), RATE * latency_seconds)
        latencies, published = await _latency(producer, settings, latency_items, RATE)
        peak_mib = _rss_mib(process.pid, "VmHWM")

    rows = [
        ("preload: events/s while the index grows to " f"{preload} items", f"{preload_rate:,.0f}", "—"),
        (f"sustained events/s, {burst} new items over {preload} open ones (service)", f"{burst_rate:,.0f}", "≥ 2,000"),
        ("same events in-process (Processor over dicts, no Kafka)", f"{baseline:,.0f}", "comparison"),
        ("service / in-process", f"{burst_rate / baseline:.2f}×", "—"),
        ("the same, counted until the machine is idle again (outputs projected into MongoDB, deferred "
         "consortia sent)", f"{settled_rate:,.0f}", "—"),
        *_latency_rows(f"{within}/s (half the rate counted until idle)", latencies_within, published_within, "—"),
        *_latency_rows(f"{RATE}/s", latencies, published, "< 200 ms"),
        (f"worker memory (RSS) with {preload:,} open items", f"{preloaded_mib:,.0f} MiB", "—"),
        ("worker memory, peak of the run", f"{peak_mib:,.0f} MiB", "—"),
    ]
    table = "| measure | value | goal |\n|---|---|---|\n" + "\n".join(f"| {a} | {b} | {c} |" for a, b, c in rows)
    return table


def _latency_rows(at: str, latencies: list[float], published: int, goal: str) -> list[tuple[str, str, str]]:
    """Rows for a latency run at the rate ``at`` names."""
    # An item still without a match event at the end waited longer than anything measured: it
    # counts as infinitely late, so a worker that falls behind cannot report a good p99.
    p99 = percentile(latencies + [math.inf] * (published - len(latencies)), 99)
    return [
        (f"item event → first match event at {at}, median of the items that got one",
         f"{median(latencies) * 1000:.1f} ms" if latencies else "n/a", "—"),
        (f"item event → first match event at {at}, p99 (items without one count as late)",
         f"{p99 * 1000:.1f} ms" if math.isfinite(p99) else f"> {GRACE_SECONDS:.0f} s (not reached)", goal),
        (f"items of the run at {at} that got a match", f"{len(latencies)} of {published}", "—"),
    ]


async def run_memory(preload: int) -> str:
    """Only the worker's memory: its resident set when ready and after ``preload`` open items."""
    items = _items(Corpus(seed=7, topical=True), 0, preload)
    async with _worker() as (settings, process, producer, client):
        ready_mib = _rss_mib(process.pid)
        print(f"preloading {preload} open items ...", flush=True)
        started = time.monotonic()
        for start in range(0, preload, 10_000):  # progress on a run of half an hour
            await _publish_all(producer, settings, items[start:start + 10_000])
            done = await _until_processed(client, min(preload, start + 10_000), timeout=3600)
            print(f"  {min(preload, start + 10_000):,} handled after {done - started:.0f} s, "
                  f"{_rss_mib(process.pid):,.0f} MiB", flush=True)
        rate = preload / (done - started)
        loaded_mib = _rss_mib(process.pid)
    per_item_kib = (loaded_mib - ready_mib) * 1024 / preload
    return ("| measure | value |\n|---|---|\n"
            f"| worker resident memory when ready (no items) | {ready_mib:,.0f} MiB |\n"
            f"| worker resident memory with {preload:,} open items | {loaded_mib:,.0f} MiB |\n"
            f"| per open item | {per_item_kib:,.1f} KiB |\n"
            f"| per 100,000 open items | {per_item_kib * 100_000 / 1024 / 1024:,.2f} GiB |\n"
            f"| items handled per second while loading | {rate:,.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, under ~2 minutes")
    parser.add_argument("--preload", type=int, help="open items before the burst (default 100,000; quick 2,000)")
    parser.add_argument("--burst", type=int, help="new items timed for events/s (default 20,000; quick 1,000)")
    parser.add_argument("--seconds", type=int, help="seconds of each latency run, at half the rate sustained and "
                        "at 500 events/s (default 30; quick 5)")
    parser.add_argument("--memory-only", action="store_true",
                        help="only the worker's memory after --preload items (its own results section)")
    args = parser.parse_args()
    if args.memory_only:
        preload = args.preload or 100_000
        if preload <= 0:
            parser.error("--preload must be a positive number of items")
        table = asyncio.run(run_memory(preload))
        print(table)
        print("wrote", write_section(
            "matching_memory", f"Matching worker memory with {preload:,} open items",
            f"One worker (`python -m services.matching.worker`, beside the query API) on the local broker loads {preload:,} open synthetic "
            f"items (`bench.matching_candidates.Corpus`, topical); its resident memory is read from /proc when "
            f"it is ready and after the last item is handled. It holds the candidate index, the text model and "
            f"every current match (`MatchTable`, as numbers); the faust tables are in RocksDB (`shared.faust_app.ROCKSDB_OPTIONS`).\n\n{table}\n"))
        return
    defaults = (2_000, 1_000, 5) if args.quick else (100_000, 20_000, 30)
    preload, burst, seconds = (given or default for given, default in
                               zip((args.preload, args.burst, args.seconds), defaults, strict=True))
    table = asyncio.run(run(preload, burst, seconds))
    print(table)
    body = (f"One worker (`python -m services.matching.worker`, beside the query API) on the local broker, synthetic items from "
            f"`bench.matching_candidates.Corpus`; sizes: {preload:,} preloaded open items, a burst of {burst:,}, "
            f"{seconds} s at half the rate counted until idle, then {seconds} s at {RATE} events/s"
            f"{' (--quick)' if args.quick else ''}. Events/s counts input events "
            f"handled (the service's `events_consumed_total`), from the first send to the last handled.\n\n{table}\n\n"
            f"{WHERE_THE_TIME_GOES}\n")
    path = write_section("matching_service", "Matching service on the broker (events/s, event → match latency)",
                         body)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
