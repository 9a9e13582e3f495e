"""Benchmark of the pages a participant waits on, on the real store (FerretDB by default):
``GET /inbox`` (first page, next page, unread only), ``/inbox/unread-count``, ``/me/deliveries``,
``/matches`` (plain and with every filter), ``/consortia`` and the search of offers
(``/listings`` plain, in Chinese, in English, with filters, one's own), p50 and p99 each, at a
given number of documents of each kind.

The store is seeded directly in the shape the code under test reads (this file runs unchanged
against an older checkout, to put both side by side): inbox entries with ``insert_many``,
deliveries through the notification store (where it lists them), matches and consortia through
the matching service's own projection (``project_many``), offers as the listing store writes
their documents, with ``insert_many`` (a checkout with the search index builds it when the service
starts, as for a database of an earlier version; the time is reported). One participant, the one
measured, holds ``--mine`` of the inbox entries, deliveries, matches and offers; the others share
the rest. The services run in-process (ASGI), so the figures are the service and the store,
without a network.

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
from pydantic_core import to_json

from bench.common import RESULTS, median, percentile, write_section
from hardtech.namespace import delete_namespace
from services.listing import storage as listing_storage
from services.listing.app import create_app as listing_app
from services.listing.settings import Settings as ListingSettings
from services.matching.app import create_app as matching_app
from services.matching.ledger import SOURCE
from services.matching.settings import Settings as MatchingSettings
from services.notification.app import create_app as notification_app
from services.notification.settings import Settings as NotificationSettings
from services.notification import storage as notification_storage
from services.notification.storage import Store
from shared import topics
from shared.auth import issue_token
from shared.events import new_event
from shared.events.common import LocalizedText
from shared.events.listing import ItemData, ItemStatus
from shared.events.matching import ConsortiumData, ConsortiumMember, ConsortiumRole, Explanation, MatchData, MatchSide
from shared.kafka import ensure_topics
from shared.locks import KeyedLocks
from shared import mongo
from shared.mongo import make_client
from shared.party_types import Kind, PartyType, Side

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


def _stored(entry: dict[str, Any]) -> dict[str, Any]:
    """An inbox entry as this checkout stores it: packed where it packs (shared.mongo.pack)."""
    packed = getattr(notification_storage, "ENTRY_PACKED", None)
    return entry if packed is None else mongo.pack(entry, packed)


async def seed_inbox(settings: NotificationSettings, documents: int, mine: int) -> None:
    """Entries of ``ME`` (``mine``) and of the others, in this checkout's layout."""
    mongo = make_client(settings.mongodb_uri)
    db = mongo[settings.database]
    counts = {ME: mine} | {f"p_{n}": (documents - mine) // OTHERS for n in range(OTHERS)}
    slots = hasattr(Store, "write_entries")  # a head and numbered entries; before it, one collection
    if hasattr(notification_storage, "bucket_id"):  # entries in buckets, the newest in the head
        for recipient, count in counts.items():
            await _seed_buckets(db, recipient, count)
        await mongo.close()
        return
    for recipient, count in counts.items():
        for start in range(1, count + 1, SEED_CHUNK):
            entries = [_entry(recipient, seq) for seq in range(start, min(count, start + SEED_CHUNK - 1) + 1)]
            if slots:
                await db.inbox_ids.insert_many([{"_id": e["notification"], "recipient": recipient,
                                                 "slot": f"{recipient}:{e['seq']}"} for e in entries])
                await db.inbox.insert_many([_stored({**e, "_id": f"{recipient}:{e['seq']}"}) for e in entries])
            else:
                await db.inbox.insert_many([{**{k: v for k, v in e.items() if k != "notification"},
                                             "_id": e["notification"]} for e in entries])
        if slots:
            await db.inbox_heads.insert_one({"_id": recipient, "seq": count, "count": count, "reserved": count})
            await db.inbox_reads.insert_one({"_id": recipient, "left": count // 3})
        else:
            await db.inbox_sequences.insert_one({"_id": recipient, "seq": count})
    await mongo.close()


async def _seed_buckets(db: Any, recipient: str, count: int) -> None:
    """One recipient's ``count`` entries as the fan-out writes them (services/notification/storage.py):
    their ids, the full buckets (``insert_many`` in chunks), the head with the newest bucket, the
    flags of the read ones."""
    from services.notification.domain import inbox

    texts = {n: to_json({k: v for k, v in _entry(recipient, n).items() if k not in ("read", "archived")}
                              | {"read": False, "archived": False}).decode() for n in range(1, count + 1)}
    full, kept = inbox.layout({}, texts, count)
    for start in range(1, count + 1, SEED_CHUNK):
        numbers = range(start, min(count, start + SEED_CHUNK - 1) + 1)
        await db.inbox_ids.insert_many([{"_id": f"msg_{recipient}_{n}", "recipient": recipient,
                                         "slot": f"{recipient}:{n}"} for n in numbers])
    buckets = [{"_id": notification_storage.bucket_id(recipient, b), "recipient": recipient,
                **{inbox.field_of(n): t for n, t in entries.items()}} for b, entries in full.items()]
    flags = [{"_id": notification_storage.bucket_id(recipient, b),
              **{f"{inbox.field_of(n)}_read": True for n in range(b * inbox.BUCKET + 1, (b + 1) * inbox.BUCKET + 1)
                 if n <= count and n % 3 == 0}} for b in range(inbox.bucket_of(count) + 1)] if count else []
    for chunk in range(0, len(buckets), 200):
        await db.inbox_buckets.insert_many(buckets[chunk:chunk + 200])
    for chunk in range(0, len(flags), 200):
        await db.inbox_flags.insert_many(flags[chunk:chunk + 200])
    await db.inbox_heads.insert_one({"_id": recipient, "seq": count, "count": count, "reserved": count, "first": 1,
                                     **{inbox.field_of(n): t for n, t in kept.items()}})
    await db.inbox_reads.insert_one({"_id": recipient, "left": count // 3})


async def seed_deliveries(settings: NotificationSettings, documents: int, mine: int) -> None:
    """Webhook deliveries of ``ME`` (``mine``) and of the others, through the store: done, one in
    five of them failed for good."""
    mongo = make_client(settings.mongodb_uri)
    store = Store(mongo[settings.database], KeyedLocks())
    counts = {ME: mine} | {f"p_{n}": (documents - mine) // OTHERS for n in range(OTHERS)}
    batch: list[dict[str, Any]] = []
    for recipient, count in counts.items():
        for n in range(count):
            at = datetime.now(UTC)
            batch.append({"_id": f"msg_{recipient}_{n}", "recipient": recipient, "channel": "webhook",
                          "type": "match.created", "subject": f"新匹配 / New match {n}", "created_at": at,
                          "due_at": at, "body": "毫米波相控阵芯片 ⇄ 5G 基站射频前端", "payload": "{}",
                          "status": "dead" if n % 5 == 0 else "delivered", "attempt_count": 1,
                          "attempts": [{"number": 1, "at": at, "status_code": 200, "error": None, "duration_ms": 40}]})
            if len(batch) == SEED_CHUNK:
                await store.add_deliveries(batch)
                batch = []
    await store.add_deliveries(batch)
    await mongo.close()


# Offers' texts: phrases combined into titles, so the words repeat as in a real market.
ZH = ["毫米波相控阵芯片", "量子芯片低温测控系统", "钙钛矿光伏组件", "固态锂电池电解质", "工业机器人减速器", "碳化硅功率器件",
      "基因编辑递送载体", "激光微纳加工装备", "氢燃料电池电堆", "高精度光刻胶", "卫星通信射频前端", "脑机接口电极"]
EN = ["mmWave phased-array chip", "cryogenic quantum controller", "perovskite solar module", "solid-state electrolyte",
      "robot joint reducer", "silicon carbide power device", "gene editing delivery vector",
      "ultrafast laser micromachining", "hydrogen fuel cell stack", "high-resolution photoresist",
      "satellite RF front-end", "brain-computer interface electrode"]
FIELDS = [["5G.RF"], ["EIT.QIT"], ["ENE.PV"], ["ENE.BAT"], ["IMFG.ROB"], ["EIT.IC"], ["BIO.GENE"], ["PHO.LAS"]]
REGIONS = ["CN-SC.CD", "CN-BJ.BJ", "CN-SH.SH", "CN-GD.SZ", "CN-JS.SZ", "CN-HB.WH"]
KINDS = [(Kind.TECHNOLOGY, PartyType.UNIVERSITY), (Kind.TECHNOLOGY, PartyType.INSTITUTE),
         (Kind.CAPITAL, PartyType.INVESTOR), (Kind.SERVICE, PartyType.AGENCY)]
STATUSES = [ItemStatus.OPEN] * 18 + [ItemStatus.DRAFT, ItemStatus.CLOSED]
LISTING_OWNERS = 100


def _offer_template(n: int) -> dict[str, Any]:
    """The stored document of one of the offers' shapes (texts, field, region, kind, status)."""
    at = datetime.now(UTC)
    kind, party = KINDS[n % len(KINDS)]
    zh, en = ZH[n % len(ZH)], EN[(n * 5) % len(EN)]
    item = ItemData(id="l_template", side=Side.OFFER, kind=kind, owner_id="p_template", owner_party_type=party,
                    title=LocalizedText(zh=f"{zh}与{ZH[(n * 7) % len(ZH)]}", en=f"{en} and {EN[(n * 3) % len(EN)]}"),
                    description=LocalizedText(zh=f"{zh}的中试与产业化", en=f"Pilot production of the {en}"),
                    fields=FIELDS[n % len(FIELDS)], keywords=[zh[:2], en.split()[0]],
                    region=REGIONS[n % len(REGIONS)], status=STATUSES[n % len(STATUSES)], created_at=at, updated_at=at)
    return listing_storage._item_document(item)


async def seed_listings(settings: ListingSettings, documents: int, mine: int) -> None:
    """Offers (``mine`` of them ``ME``'s, the newest), stored as the listing store writes them."""
    templates = [_offer_template(n) for n in range(len(ZH) * len(FIELDS) * len(STATUSES) // 4)]
    mongo = make_client(settings.mongodb_uri)
    offers = mongo[settings.database]["listings"]
    batch = []
    for n in range(documents):
        owner = ME if n >= documents - mine else f"p_{n % LISTING_OWNERS}"
        batch.append({**templates[n % len(templates)], "_id": f"l_{n:012x}{n % 7919:06d}", "owner_id": owner})
        if len(batch) == SEED_CHUNK:
            await offers.insert_many(batch)
            batch = []
    if batch:
        await offers.insert_many(batch)
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


async def timed(client: httpx.AsyncClient, path: str, params: dict[str, Any], settings: NotificationSettings, *,
                samples: int, budget: float) -> list[float]:
    """Milliseconds per request: ``samples`` of them, fewer (at least 3) when ``budget`` seconds run out.
    A token per page: a slow checkout's pages outlast one."""
    headers = {"authorization": f"Bearer {issue_token(settings, ME, PartyType.ENTERPRISE)[0]}"}
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
    listing = ListingSettings(topic_prefix=prefix, database=f"{prefix}listing")
    await ensure_topics(notification, topics.ALL)
    results: dict[str, list[float]] = {}
    try:
        await seed_inbox(notification, documents, mine)
        lists_deliveries = hasattr(Store, "my_deliveries")
        if lists_deliveries:
            await seed_deliveries(notification, documents, mine)
        app = notification_app(notification)
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=600) as client:
            headers = {"authorization": f"Bearer {issue_token(notification, ME, PartyType.ENTERPRISE)[0]}"}
            first = (await client.get("/inbox", headers=headers)).json()
            for name, path, params in [
                ("/inbox", "/inbox", {}),
                ("/inbox next page", "/inbox", {"cursor": first["next_cursor"]}),
                ("/inbox?unread=true", "/inbox", {"unread": "true"}),
                ("/inbox/unread-count", "/inbox/unread-count", {}),
                *([("/me/deliveries", "/me/deliveries", {}),
                   ("/me/deliveries?status=dead", "/me/deliveries", {"status": "dead"})]
                  if lists_deliveries else []),
            ]:
                results[name] = await timed(client, path, params, notification, samples=samples, budget=budget)
        await seed_listings(listing, documents, mine)
        started = time.perf_counter()
        app = listing_app(listing)
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=600) as client:
            results["listing service start (s)"] = [time.perf_counter() - started]
            for name, params in [
                ("/listings", {}),
                ("/listings?q=量子芯片", {"q": "量子芯片"}),
                ("/listings?q=laser micromachining", {"q": "laser micromachining"}),
                ("/listings?kind&field&region", {"kind": "technology", "field": "EIT", "region": "CN-SC"}),
                ("/listings?mine=true", {"mine": "true"}),
            ]:
                results[name] = await timed(client, "/listings", params, notification, samples=samples, budget=budget)
        app = matching_app(matching)
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=600) as client:
            await seed_matches(app, documents, mine)
            for name, path, params in [
                ("/matches", "/matches", {}),
                ("/matches?kind&min_score&status", "/matches",
                 {"kind": "technology", "min_score": 0.6, "status": "active"}),
                ("/consortia", "/consortia", {}),
            ]:
                results[name] = await timed(client, path, params, notification, samples=samples, budget=budget)
    finally:
        await delete_namespace(notification.kafka_bootstrap_servers, notification.mongodb_uri, prefix)
    return results


async def main(documents: int, mine: int, samples: int, budget: float, label: str) -> None:
    results = await measure(documents, mine, samples, budget)
    started = results.pop("listing service start (s)")[0]
    lines = [f"| page ({label}, {documents:,} documents) | requests | p50 ms | p99 ms |", "|---|---:|---:|---:|"]
    for name, taken in results.items():
        lines.append(f"| `{name}` | {len(taken)} | {median(taken):.1f} | {percentile(taken, 99):.1f} |")
    table = "\n".join(lines)
    print(table)
    write_section(f"read_pages_{label}_{documents}", f"Page reads, {label}, {documents:,} documents",
                  f"Command: `.venv/bin/python -m bench.read_pages --documents {documents} --mine {mine} "
                  f"--label {label}`; {documents:,} inbox entries, deliveries, matches and offers each in the "
                  f"store, {mine:,} of each the measured participant's. The listing service started in "
                  f"{started:.0f} s (its start-up: building the search index where it has one).\n\n{table}")


def side_by_side() -> None:
    """One table of every run's section (each checkout, each size), p50 / p99 per page, into
    ``read_pages.md``; the runs' own sections are folded into it."""
    runs = sorted(RESULTS.glob("read_pages_*.md"), key=lambda path: (path.stem.split("_")[2] != "main",
                                                                      int(path.stem.split("_")[-1])))
    columns, pages, stamps, starts = [], {}, [], []
    for path in runs:
        text = path.read_text()
        label, documents = path.stem.split("_")[2], int(path.stem.split("_")[-1])
        columns.append(f"{label}, {documents:,} docs")
        stamps.append(f"{label} at {documents:,} {text.splitlines()[2].removeprefix('Measured ').split(' on ')[0]}")
        if "started in " in text:
            starts.append(f"{label} at {documents:,}: {text.split('started in ')[1].split(' s ')[0]} s")
        for line in text.splitlines():
            if line.startswith("| `"):
                name, requests, p50, p99 = (cell.strip() for cell in line.strip("|").split("|"))
                pages.setdefault(name, {})[columns[-1]] = f"{float(p50):,.0f} / {float(p99):,.0f} ({requests})"
    lines = ["| page | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
    lines += [f"| {name} | " + " | ".join(cells.get(c, "—") for c in columns) + " |" for name, cells in pages.items()]
    write_section("read_pages", "Page reads: today's code (main) and the read models (readpath)",
                  "p50 / p99 in ms (requests measured) per page, for one participant holding 1,000 inbox entries, "
                  "deliveries, matches (100 consortia) and offers among the documents counted of each kind; "
                  "FerretDB v1 (SQLite), the services in-process. Where a page took seconds, fewer requests were "
                  "made (at least 3, within the budget a page). — : no such page in that checkout. The listing "
                  "service's start, which builds the search index of a database without one: "
                  + "; ".join(starts) + ". Runs: " + "; ".join(stamps) + ". Command: `.venv/bin/python -m bench.read_pages "
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
