"""GET /funnel latency for a session of 300 participants and 5,000 matches (goal: p99 < 50 ms on
the embedded store), per dimension, compared in the same run with GET /healthz (no store at all).

The store holds what the deals consumer leaves after counting those matches (their match records,
a mark per step counted, and the counter documents of every key), loaded in bulk: this measures the
read, which is one lookup by ``_id`` whatever the number of matches. The service runs as a real
uvicorn process on the local Kafka and MongoDB-wire store.
Usage: python -m bench.deals_funnel [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from typing import Any

import httpx

from bench.common import free_port, median, percentile, wait_ready, write_section
from hardtech.namespace import delete_namespace
from services.deals.domain import funnel
from services.deals.domain.funnel import Increment, Step
from services.deals.events import CONSUMER, TOPICS
from services.deals.settings import Settings
from shared import topics
from shared.auth import Role, issue_token
from shared.kafka import ensure_topics
from shared.mongo import make_client
from shared.party_types import PartyType

PARTICIPANTS, MATCHES, SESSION, HOST = 300, 5_000, "s_bench", "bench-gov"
FIELDS = ["5G.RF", "5G.NET", "EIT.IC", "BIO.DRUG", "IMFG.ROB", "IINT.PLAT"]
REGIONS = ["CN-SC.CD", "CN-GD.SZ", "CN-JS.SZ", "CN-BJ", "CN-SH", "CN-CQ"]
# Shares of matches reaching each step after "made".
REACHED = {Step.ACCEPTED: 0.3, Step.MET: 0.15, Step.SIGNED: 0.05}


def _state(rng: random.Random) -> tuple[list[dict], list[dict], list[dict]]:
    """Match records, marks and counter documents as the consumer leaves them after counting."""
    party_types = [rng.choice(list(PartyType)) for _ in range(PARTICIPANTS)]
    counters: dict[str, dict[str, Any]] = defaultdict(lambda: defaultdict(float))
    matches, marks = [], []
    for n in range(MATCHES):
        offer, need = rng.sample(range(PARTICIPANTS), 2)
        keys = funnel.match_keys(party_types[offer].value, party_types[need].value,
                                 rng.sample(FIELDS, 2), rng.sample(REGIONS, 2))
        keys.append(funnel.key(funnel.Dimension.SESSION, SESSION))
        matches.append({"_id": f"m_{n}", "keys": keys, "sessions": [SESSION]})
        chance = rng.random()
        steps = [Increment(Step.MADE)] + [
            Increment(step, rng.uniform(3_600, 30 * 86_400),
                      **({"amount_cents": rng.randrange(10**7, 10**10), "currency": "CNY"} if step is Step.SIGNED else {}))
            for step, share in REACHED.items() if chance < share]
        for increment in steps:
            marks.append({"_id": f"{increment.step.value}|m_{n}"})
            for key in keys:
                for name, value in increment.as_inc().items():
                    counters[key][name] += value
    documents = []
    for key, flat in counters.items():
        document: dict[str, Any] = {"_id": key}
        for name, value in flat.items():
            head, _, tail = name.partition(".")
            if tail:
                document.setdefault(head, {})[tail] = value
            else:
                document[head] = int(value)
        documents.append(document)
    return matches, marks, documents


async def _load(settings: Settings) -> list[str]:
    matches, marks, counters = _state(random.Random(22))
    mongo = make_client(settings.mongodb_uri)
    try:
        db = mongo[settings.database]
        # the session as the consumer keeps it from the sessions topic: its host may read its funnel
        host = {"_id": SESSION, "organiser_id": HOST, "title": {"zh": "基准活动", "en": "Bench session"}}
        for collection, documents in (("matches", matches), ("funnel_marks", marks), ("funnel", counters),
                                      ("sessions", [host])):
            for start in range(0, len(documents), 1000):
                await db[collection].insert_many(documents[start:start + 1000])
    finally:
        await mongo.close()
    return [c["_id"] for c in counters]


def _query(key: str) -> dict[str, str]:
    if key == funnel.ALL:
        return {}
    dimension, _, value = key.partition(":")
    return {dimension: value}


async def _measure(client: httpx.AsyncClient, path: str, params: list[dict[str, str]], headers: dict[str, str],
                   requests: int) -> list[float]:
    latencies = []
    for n in range(requests):
        started = time.perf_counter()
        response = await client.get(path, params=params[n % len(params)], headers=headers)
        latencies.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
    return latencies


async def main(quick: bool) -> None:
    load_before = os.getloadavg()[0]
    prefix = f"bench{uuid.uuid4().hex[:6]}-"
    settings = Settings(topic_prefix=prefix, database=f"{prefix.rstrip('-')}_deals")
    await ensure_topics(settings, [*TOPICS, topics.dead_letter(CONSUMER)])
    keys = await _load(settings)
    port = free_port()
    env = {**os.environ, "DEALS_PORT": str(port), "HARDTECH_TOPIC_PREFIX": prefix, "DEALS_DATABASE": settings.database,
           "HARDTECH_LOG_LEVEL": "WARNING"}
    process = subprocess.Popen([sys.executable, "-m", "services.deals"], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    organiser = {"authorization": "Bearer " + issue_token(settings, HOST, PartyType.GOVERNMENT,
                                                         frozenset({Role.ORGANISER}))[0]}
    requests, rounds = (300, 1) if quick else (2_000, 3)
    plan = [("session", [{"session": SESSION}]), ("every key in turn", [_query(k) for k in keys])]
    rows = []
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            await wait_ready(client, "deals")
            session = (await client.get("/funnel", params={"session": SESSION}, headers=organiser)).json()
            assert session["steps"][0]["count"] == MATCHES, session
            for name, params in [*plan, ("GET /healthz (no store)", [{}])]:
                path = "/healthz" if name.startswith("GET /healthz") else "/funnel"
                runs = [await _measure(client, path, params, organiser, requests) for _ in range(rounds)]
                rows.append((name, median([median(r) for r in runs]), median([percentile(r, 99) for r in runs])))
    finally:
        process.terminate()
        process.wait(timeout=15)
        await delete_namespace(settings.kafka_bootstrap_servers, settings.mongodb_uri, prefix)
    _report(rows, len(keys), requests, rounds, quick, (load_before, os.getloadavg()[0]))



def _report(rows: list, keys: int, requests: int, rounds: int, quick: bool, load: tuple[float, float]) -> None:
    lines = ["| GET /funnel for | p50 ms | p99 ms |", "|---|---|---|"]
    lines += [f"| {name} | {p50 * 1000:.1f} | {p99 * 1000:.1f} |" for name, p50, p99 in rows]
    table = "\n".join(lines)
    print(table)
    body = (f"{'Quick run, ' if quick else ''}{requests} sequential requests per row, median of {rounds} run(s). "
            f"A session of {PARTICIPANTS} participants and {MATCHES:,} matches ({keys} counter documents: all, the "
            f"session, fields, regions, provinces, strategies, party-type pairs), loaded as the consumer leaves them; "
            f"the service as a uvicorn process on FerretDB v1 (SQLite); the session's host's token (a session's "
            f"funnel is two lookups by `_id`: the session's host, then the counters). Goal: p99 < 50 ms.\n\n"
            f"Command: `.venv/bin/python -m bench.deals_funnel{' --quick' if quick else ''}`\n\n{table}\n\n"
            "A funnel is one lookup by `_id` of its counter document, so its cost does not grow with the number "
            "of matches; the /healthz row is the same process's answer without the store. Load average "
            f"{load[0]:.1f} at the start and {load[1]:.1f} at the end (2 cores): read the funnel rows against "
            "/healthz's.")
    print("wrote", write_section("deals", "Deals: the funnel of a 5,000-match session", body))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests, one run")
    asyncio.run(main(parser.parse_args().quick))
