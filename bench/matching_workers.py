"""One matching worker against two (``MATCHING_WORKERS``) on the local broker, the same events:
events/s until every worker has handled a burst, and the CPU seconds the workers spent per input
event (their processes' user + system time, read from /proc), which is what says whether the work
divides on a machine whose two cores other processes share."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from aiokafka import AIOKafkaProducer

from bench.common import free_port, wait_ready, write_section
from bench.matching_candidates import Corpus
from bench.matching_service import OPERATOR, ROOT, _items, _publish_all
from hardtech.namespace import delete_namespace
from services.matching.settings import Settings
from shared import topics
from shared.kafka import ensure_topics

POLL_SECONDS = 0.5
HANDLED = re.compile(r'^events_consumed_total\{(?=[^}]*service="matching")[^}]*process="([^"]+)"[^}]*\} (\S+)$')


def _tree_cpu(pid: int) -> float:
    """CPU seconds of a worker, without its projection process (a child it does not wait for)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _start(settings: Settings, workers: int, log: Path) -> list[subprocess.Popen[bytes]]:
    env = {**os.environ, "HARDTECH_TOPIC_PREFIX": settings.topic_prefix, "MATCHING_PORT": str(settings.port),
           "MATCHING_DATADIR": str(settings.datadir), "MATCHING_DATABASE": settings.database,
           "MATCHING_WORKERS": str(workers), "HARDTECH_LOG_LEVEL": "WARNING"}
    processes = [subprocess.Popen([sys.executable, "-m", "services.matching.worker"], cwd=ROOT,
                                  env={**env, "MATCHING_WORKER": str(n)}, stdout=log.open("ab"),
                                  stderr=subprocess.STDOUT, start_new_session=True)
                 for n in range(1, workers + 1)]
    processes.append(subprocess.Popen([sys.executable, "-m", "services.matching"], cwd=ROOT, env=env,
                                      stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.port}", timeout=1) as client:
            await wait_ready(client, "matching", timeout=300)
    except RuntimeError:
        _stop(processes)
        raise RuntimeError(f"matching did not get ready; see {log}") from None
    return processes


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(30)


async def _handled_by_each(client: httpx.AsyncClient) -> dict[str, int]:
    text = (await client.get("/metrics", headers=OPERATOR)).text
    counts: dict[str, int] = {}
    for line in text.splitlines():
        if found := HANDLED.match(line):
            counts[found[1]] = counts.get(found[1], 0) + int(float(found[2]))
    return counts


async def _until_each_handled(client: httpx.AsyncClient, workers: int, target: int) -> float:
    deadline = time.monotonic() + 1800
    while time.monotonic() < deadline:
        counts = await _handled_by_each(client)
        if len(counts) >= workers and min(counts.values()) >= target:
            return time.monotonic()
        await asyncio.sleep(POLL_SECONDS)
    raise RuntimeError(f"not every worker handled {target} events")


async def measure(workers: int, preload: int, burst: int) -> tuple[float, float]:
    """(events/s of the burst until every worker handled it, worker CPU seconds per burst event)."""
    corpus = Corpus(seed=7, topical=True)
    namespace = f"benchw{uuid.uuid4().hex[:8]}-"
    workdir = Path(tempfile.mkdtemp(prefix="matching-workers-bench-"))
    settings = Settings(topic_prefix=namespace, port=free_port(), datadir=workdir / "data",
                        database=f"{namespace.rstrip('-')}_matching")
    await ensure_topics(settings, topics.ALL)
    processes = await _start(settings, workers, workdir / "matching.log")
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all", linger_ms=5,
                                enable_idempotence=True, **settings.kafka_client_options())
    await producer.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.port}", timeout=10) as client:
            await _publish_all(producer, settings, _items(corpus, 0, preload))
            await _until_each_handled(client, workers, preload)
            cpu_before = sum(_tree_cpu(p.pid) for p in processes[:workers])
            started = time.monotonic()
            await _publish_all(producer, settings, _items(corpus, preload, burst))
            done = await _until_each_handled(client, workers, preload + burst)
            cpu = sum(_tree_cpu(p.pid) for p in processes[:workers]) - cpu_before
        return burst / (done - started), cpu / burst
    finally:
        await producer.stop()
        _stop(processes)
        shutil.rmtree(workdir, ignore_errors=True)
        await delete_namespace(settings.kafka_bootstrap_servers, settings.mongodb_uri, namespace)


async def run(preload: int, burst: int, rounds: int) -> str:
    figures: dict[int, list[tuple[float, float]]] = {1: [], 2: []}
    for round_ in range(rounds):  # alternating, so the machine's load falls on both alike
        for workers in (1, 2):
            print(f"round {round_ + 1}: {workers} worker(s), {preload} preloaded, burst of {burst} ...", flush=True)
            figures[workers].append(await measure(workers, preload, burst))
            rate, cpu = figures[workers][-1]
            print(f"  {rate:,.1f} events/s, {cpu * 1000:,.1f} ms of worker CPU per input", flush=True)

    def middle(values: list[float]) -> float:
        return sorted(values)[len(values) // 2]

    rate = {w: middle([r for r, _ in f]) for w, f in figures.items()}
    cpu = {w: middle([c for _, c in f]) for w, f in figures.items()}
    rows = [
        ("events/s until every worker handled the burst (median)", f"{rate[1]:,.0f}", f"{rate[2]:,.0f}"),
        ("each run", ", ".join(f"{r:,.0f}" for r, _ in figures[1]), ", ".join(f"{r:,.0f}" for r, _ in figures[2])),
        ("worker CPU seconds per input event, all workers (median)", f"{cpu[1] * 1000:,.1f} ms",
         f"{cpu[2] * 1000:,.1f} ms"),
        ("CPU per input, two workers / one", "1.00×", f"{cpu[2] / cpu[1]:.2f}×"),
        ("CPU-normalised scaling, each worker on a core of its own: 2 × CPU per input of one / of two "
         "(goal ≥ 1.7×, ideal 2×)", "1.00×", f"{2 * cpu[1] / cpu[2]:.2f}×"),
    ]
    return ("| measure | 1 worker | 2 workers |\n|---|---|---|\n"
            + "\n".join(f"| {a} | {b} | {c} |" for a, b, c in rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, a few minutes")
    parser.add_argument("--preload", type=int, help="open items before the burst (default 5,000; quick 1,000)")
    parser.add_argument("--burst", type=int, help="new items timed (default 2,000; quick 500)")
    parser.add_argument("--rounds", type=int, help="alternating rounds of one and two workers (default 3; quick 1)")
    args = parser.parse_args()
    defaults = (1_000, 500, 1) if args.quick else (5_000, 2_000, 3)
    preload, burst, rounds = (given or default for given, default in
                              zip((args.preload, args.burst, args.rounds), defaults, strict=True))
    load_before = os.getloadavg()[0]
    table = asyncio.run(run(preload, burst, rounds))
    load = f"load average {load_before:.1f} at the start and {os.getloadavg()[0]:.1f} at the end"
    print(table)
    body = (f"`MATCHING_WORKERS=1` against `=2` (`python -m services.matching.worker` processes beside the query "
            f"API) on the local broker, the same synthetic items (`bench.matching_candidates.Corpus`, topical): "
            f"{preload:,} preloaded, then a burst of {burst:,} timed until every worker has handled it (each "
            f"worker's `events_consumed_total`), {rounds} alternating round(s){' (--quick)' if args.quick else ''}, "
            f"{load} (other processes share the two cores: events/s says little, CPU per input is what to read). "
            f"CPU is the workers' own user + system time over the burst (/proc), without their projection "
            f"process. Every worker reads and scores every input and sends only its ownership partitions' "
            f"outputs (services/matching/README.md: Scaling out), so two workers are expected to spend about "
            f"twice the CPU per input: they give fail-over without a replay, not throughput; stage A (partitioned "
            f"scoring) is the next step.\n\n{table}\n")
    print("wrote", write_section("matching_workers", "Matching: one worker against two (events/s, CPU per input)",
                                 body))


if __name__ == "__main__":
    main()
