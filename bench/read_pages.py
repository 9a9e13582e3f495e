"""Benchmark of the pages a participant waits on, on the real store (FerretDB by default):
``GET /inbox`` (first page, next page, unread only), ``/inbox/unread-count``, ``/matches`` (plain
and with every filter) and ``/consortia``, p50 and p99 each, at a given number of documents.

The store is seeded directly in the shape the code under test reads (this file runs unchanged
against an older checkout, to put both side by side): inbox entries with ``insert_many``,
matches and consortia through the matching service's own projection (``project_many``). One
participant, the one measured, holds ``--mine`` of the inbox entries and of the matches; the
others share the rest. The services run in-process (ASGI), so the figures are the service and
the store, without a network.

    .venv/bin/python -m bench.read_pages [--documents 10000] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from bench.common import RESULTS, median, percentile, write_section
from hardtech.namespace import delete_namespace
from services.matching.app import create_app as matching_app
from services.matching.ledger import SOURCE
from services.matching.settings import Settings as MatchingSettings
from services.notification.app import create_app as notification_app
from services.notification.settings import Settings as NotificationSettings
from services.notification.storage import Store
from shared import topics
from shared.auth import issue_token
from shared.events import new_event
from shared.events.common import LocalizedText
from shared.events.matching import ConsortiumData, ConsortiumMember, ConsortiumRole, Explanation, MatchData, MatchSide
from shared.kafka import ensure_topics
from shared.mongo import make_client
from shared.party_types import Kind, PartyType

ME = "p_me"
OTHERS = 200
SEED_CHUNK = 2_000


def _entry(recipient: str, seq: int) -> dict[str, Any]:
    notification = f"msg_{recipient}_{seq}"
    return {"recipient": recipient, "seq": seq, "notification": notification, "type": "match.created",
            "event_id": f"e_{recipient}_{seq}", "subject": f"新匹配 / New match {seq}", "category": "matches",
            "language": "zh-CN", "body": "毫米波相控阵芯片 ⇄ 5G 基站射频前端 " * 4,
            "data": {"match_id": f"m_{seq}", "score": 0.8}, "created_at": datetime.now(UTC),
            "read": seq % 3 == 0, "archived": False}


async def seed_inbox(settings: NotificationSettings, documents: int, mine: int) -> None:
    """Entries of ``ME`` (``mine``) and of the others, in this checkout's layout."""
    mongo = make_client(settings.mongodb_uri)
    db = mongo[settings.database]
    counts = {ME: mine} | {f"p_{n}": (documents - mine) // OTHERS for n in range(OTHERS)}
    slots = hasattr(Store, "write_entries")  # a head and numbered entries; before it, one collection
    for recipient, count in counts.items():
        for start in range(1, count + 1, SEED_CHUNK):
            entries = [_entry(recipient, seq) for seq in range(start, min(count, start + SEED_CHUNK - 1) + 1)]
            if slots:
                await db.inbox_ids.insert_many([{"_id": e["notification"], "recipient": recipient,
                                                 "slot": f"{recipient}:{e['seq']}"} for e in entries])
                await db.inbox.insert_many([{**e, "_id": f"{recipient}:{e['seq']}"} for e in entries])
            else:
                await db.inbox.insert_many([{**{k: v for k, v in e.items() if k != "notification"},
                                             "_id": e["notification"]} for e in entries])
        if slots:
            await db.inbox_heads.insert_one({"_id": recipient, "seq": count, "count": count, "reserved": count})
            await db.inbox_reads.insert_one({"_id": recipient, "left": count // 3})
        else:
            await db.inbox_sequences.insert_one({"_id": recipient, "seq": count})
    await mongo.close()


def _side(item: str, owner: str, party: PartyType) -> MatchSide:
    return MatchSide(item_id=item, owner_id=owner, party_type=party, title=LocalizedText(zh="芯片", en="Chip"))


async def seed_matches(app: Any, documents: int, mine: int) -> None:
    """Matches (``mine`` of them ``ME``'s) and one consortium per 10 of ``ME``'s matches, through
    the projection of this checkout."""
    store = app.state.store
    events = []
    for n in range(documents):
        owner = ME if n < mine else f"p_{n % OTHERS}"
        kind = Kind.TECHNOLOGY if n % 2 else Kind.CAPITAL
        data = MatchData(match_id=f"m_{n:07d}", kind=kind, offer=_side(f"l_{n}", f"u_{n % 97}", PartyType.UNIVERSITY),
                         need=_side(f"d_{n}", owner, PartyType.ENTERPRISE), score=round(0.3 + (n * 7919 % 700) / 1000, 3),
                         features=[], explanation=Explanation(zh=["领域一致"], en=["Same field"]))
        events.append(new_event("match.created.v1", data, source=SOURCE, subject=data.match_id))
        if n < mine and n % 10 == 0:
            events.append(new_event("consortium.proposed.v1", ConsortiumData(
                consortium_id=f"c_{n}", technology_match_id=data.match_id, score=data.score,
                missing_roles=[ConsortiumRole.POLICY],
                members=[ConsortiumMember(role=ConsortiumRole.TECHNOLOGY_SEEKER, participant_id=ME,
                                          party_type=PartyType.ENTERPRISE, item_id=f"d_{n}")]), source=SOURCE))
        if len(events) >= SEED_CHUNK:
            await store.project_many(events)
            events = []
    await store.project_many(events)


async def timed(client: httpx.AsyncClient, path: str, params: dict[str, Any], headers: dict[str, str], *,
                samples: int, budget: float) -> list[float]:
    """Milliseconds per request: ``samples`` of them, fewer (at least 3) when ``budget`` seconds run out."""
    taken: list[float] = []
    deadline = time.monotonic() + budget
    while len(taken) < samples and (len(taken) < 3 or time.monotonic() < deadline):
        started = time.perf_counter()
        response = await client.get(path, params=params, headers=headers)
        taken.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text
    return taken


async def measure(documents: int, mine: int, samples: int, budget: float) -> dict[str, list[float]]:
    prefix = f"bench{uuid.uuid4().hex[:8]}-"
    notification = NotificationSettings(topic_prefix=prefix, database=f"{prefix}notification")
    matching = MatchingSettings(topic_prefix=prefix, database=f"{prefix}matching")
    await ensure_topics(notification, topics.ALL)
    headers = {"authorization": f"Bearer {issue_token(notification, ME, PartyType.ENTERPRISE)[0]}"}
    results: dict[str, list[float]] = {}
    try:
        await seed_inbox(notification, documents, mine)
        app = notification_app(notification)
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=600) as client:
            first = (await client.get("/inbox", headers=headers)).json()
            for name, path, params in [
                ("/inbox", "/inbox", {}),
                ("/inbox next page", "/inbox", {"cursor": first["next_cursor"]}),
                ("/inbox?unread=true", "/inbox", {"unread": "true"}),
                ("/inbox/unread-count", "/inbox/unread-count", {}),
            ]:
                results[name] = await timed(client, path, params, headers, samples=samples, budget=budget)
        app = matching_app(matching, worker_ready=lambda: True)
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=600) as client:
            await seed_matches(app, documents, mine)
            for name, path, params in [
                ("/matches", "/matches", {}),
                ("/matches?kind&min_score&status", "/matches",
                 {"kind": "technology", "min_score": 0.6, "status": "active"}),
                ("/consortia", "/consortia", {}),
            ]:
                results[name] = await timed(client, path, params, headers, samples=samples, budget=budget)
    finally:
        await delete_namespace(notification.kafka_bootstrap_servers, notification.mongodb_uri, prefix)
    return results


async def main(documents: int, mine: int, samples: int, budget: float, label: str) -> None:
    results = await measure(documents, mine, samples, budget)
    lines = [f"| page ({label}, {documents:,} documents) | requests | p50 ms | p99 ms |", "|---|---:|---:|---:|"]
    for name, taken in results.items():
        lines.append(f"| `{name}` | {len(taken)} | {median(taken):.1f} | {percentile(taken, 99):.1f} |")
    table = "\n".join(lines)
    print(table)
    write_section(f"read_pages_{label}_{documents}", f"Page reads, {label}, {documents:,} documents",
                  f"Command: `.venv/bin/python -m bench.read_pages --documents {documents} --mine {mine} "
                  f"--label {label}`; {documents:,} inbox entries and {documents:,} matches in the store, "
                  f"{mine:,} of each the measured participant's.\n\n{table}")


def side_by_side() -> None:
    """One table of every run's section (each checkout, each size), p50 / p99 per page, into
    ``read_pages.md``; the runs' own sections are folded into it."""
    runs = sorted(RESULTS.glob("read_pages_*.md"), key=lambda path: (path.stem.split("_")[2] != "main",
                                                                      int(path.stem.split("_")[-1])))
    columns, pages, stamps = [], {}, []
    for path in runs:
        text = path.read_text()
        label, documents = path.stem.split("_")[2], int(path.stem.split("_")[-1])
        columns.append(f"{label}, {documents:,} docs")
        stamps.append(f"{label} at {documents:,} {text.splitlines()[2].removeprefix('Measured ').split(' on ')[0]}")
        for line in text.splitlines():
            if line.startswith("| `"):
                name, requests, p50, p99 = (cell.strip() for cell in line.strip("|").split("|"))
                pages.setdefault(name, {})[columns[-1]] = f"{float(p50):,.0f} / {float(p99):,.0f} ({requests})"
    lines = ["| page | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
    lines += [f"| {name} | " + " | ".join(cells.get(c, "—") for c in columns) + " |" for name, cells in pages.items()]
    write_section("read_pages", "Page reads: today's code (main) and the read models (readpath)",
                  "p50 / p99 in ms (requests measured) per page, for one participant holding 1,000 inbox entries "
                  "and 1,000 matches (100 consortia) among the documents counted; FerretDB v1 (SQLite), the "
                  "services in-process. Where a page took seconds, fewer requests were made (at least 3, within "
                  "40 s a page). Runs: " + "; ".join(stamps) + ". Command: `.venv/bin/python -m bench.read_pages "
                  "--documents N --label L` in each checkout (the older one a `git worktree` of main with this "
                  "file copied in), then `--side-by-side`.\n\n" + "\n".join(lines))
    for path in runs:
        path.unlink()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, default=10_000, help="inbox entries and matches in the store")
    parser.add_argument("--mine", type=int, default=1_000, help="how many of them the measured participant's")
    parser.add_argument("--samples", type=int, default=50, help="requests per page")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per page at most (3 requests at least)")
    parser.add_argument("--label", default="this-checkout", help="names the results file (e.g. main, readpath)")
    parser.add_argument("--quick", action="store_true", help="1,000 documents")
    parser.add_argument("--side-by-side", action="store_true", help="fold the runs' sections into one table")
    args = parser.parse_args()
    if args.side_by_side:
        side_by_side()
        raise SystemExit
    asyncio.run(main(1_000 if args.quick else args.documents, min(args.mine, 100) if args.quick else args.mine,
                     args.samples, args.budget, args.label))
