"""Benchmark of the pages a participant waits on, on the real store (FerretDB by default):
``GET /inbox`` (first page, next page, unread only), ``/inbox/unread-count``, ``/me/deliveries``,
``/matches`` (plain and with every filter), ``/consortia`` and the search of offers
(``/listings`` plain, in Chinese, in English, with filters, one's own), p50 and p99 each, at a
given number of documents of each kind.

The store is seeded through the services' own writers, in chunks, with progress (at 100,000
documents it takes ~25 minutes on a loaded machine): inbox entries (``--inbox``, ten times
``--documents`` by default) through ``Store.write_entries`` (ids, tips, buckets, hints, as the
fan-out writes them), deliveries through ``Store.add_deliveries``, offers as the listing store
writes their documents with ``insert_many`` and their search index built at the listing service's
first start (as for a database of an earlier version; up to 20,000 offers) or by
``SearchIndex.build`` from the same documents, matches and consortia through the matching
service's projection (``project_many``) of the checkout measured, into a database of its own
(``--matching-db``: each checkout's read model in its layout). ``--keep NAME`` keeps the seeded
store, and later runs (another checkout: a ``git worktree`` of main with this file copied in)
reuse it. One participant, the one measured, holds ``--mine`` of the inbox entries, deliveries,
matches and offers; the others share the rest. The services run in-process (ASGI), so the figures
are the service and the store, without a network; each page's finds and the KB they found are
counted on one request (a pymongo command listener).

    .venv/bin/python -m bench.read_pages [--documents 10000] [--keep k10 --matching-db matching-L --label L]
    .venv/bin/python -m bench.read_pages --side-by-side   # the runs' sections into read_pages.md
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from datetime import UTC, datetime
from collections.abc import AsyncIterator, Iterator
from typing import Any

import bson
import httpx
from pymongo import monitoring

from bench.common import RESULTS, median, percentile, write_section
from hardtech.namespace import delete_namespace
from services.listing import storage as listing_storage
from services.listing.app import create_app as listing_app
from services.listing.search_index import SearchIndex
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
from shared.events.matching import (ConsortiumData, ConsortiumMember, ConsortiumRole, Explanation, FeatureScore,
                                    MatchData, MatchSide)
from shared.kafka import ensure_topics
from shared.locks import KeyedLocks
from shared.mongo import insert_new, make_client
from shared.party_types import Kind, PartyType, Side

ME = "p_me"
OTHERS = 200
SEED_CHUNK = 2_000


def _entry(recipient: str, n: int) -> dict[str, Any]:
    """An inbox entry as the fan-out hands it to ``Store.write_entries`` (events.py ``_plan``)."""
    return {"notification": f"msg_{recipient}_{n}", "recipient": recipient, "type": "match.created",
            "event_id": f"e_{recipient}_{n}", "subject": f"新匹配 / New match {n}", "created_at": datetime.now(UTC),
            "category": "matches", "language": "zh-CN", "body": "毫米波相控阵芯片 ⇄ 5G 基站射频前端 " * 4,
            "data": {"match_id": f"m_{n}", "score": 0.8}}


# Entries per recipient per write while seeding: the inbox as a fan-out that met each recipient this
# often per fetch writes it (the newest tip holds the newest bucket and what the write filled).
INBOX_WRITE = 40


def progress(what: str, done: int, total: int, started: float) -> None:
    elapsed = time.monotonic() - started
    rate = done / elapsed if elapsed else 0.0
    print(f"  {what}: {done:,}/{total:,} in {elapsed:.0f} s ({rate:,.0f}/s)", flush=True)


async def seed_inbox(settings: NotificationSettings, entries: int, mine: int) -> None:
    """``entries`` inbox entries, ``mine`` of them ``ME``'s, the others' shared by ``OTHERS``, written
    through the service's own writer (``Store.write_entries``: ids, tips, buckets, hints), in writes
    of ``INBOX_WRITE`` entries per recipient, many recipients a write; then every third entry of
    ``ME`` marked read, in the flags' shape (``inbox_flags``, ``inbox_reads``)."""
    from services.notification.domain import inbox

    client = make_client(settings.mongodb_uri)
    db = client[settings.database]
    store = Store(db, KeyedLocks())
    counts = {ME: mine} | {f"p_{n}": (entries - mine) // OTHERS for n in range(OTHERS)}
    written = dict.fromkeys(counts, 0)
    started, done, total = time.monotonic(), 0, sum(counts.values())
    while any(written[r] < c for r, c in counts.items()):
        batch = []
        for recipient, count in counts.items():
            upto = min(count, written[recipient] + INBOX_WRITE)
            batch += [_entry(recipient, n) for n in range(written[recipient] + 1, upto + 1)]
            written[recipient] = upto
            if len(batch) >= 4_000:
                break
        await store.write_entries(batch)
        done += len(batch)
        if done // 50_000 != (done - len(batch)) // 50_000 or done == total:
            progress("inbox entries", done, total, started)
    # ME's entries with numbers divisible by 3 read, as ``Store.mark`` sets them
    at = datetime.now(UTC)
    flags = [{"_id": notification_storage.bucket_id(ME, b),
              **{f"{inbox.field_of(n)}_{k}": v for n in range(b * inbox.BUCKET + 1, (b + 1) * inbox.BUCKET + 1)
                 if n <= mine and n % 3 == 0 for k, v in (("read", True), ("read_at", at))}}
             for b in range(inbox.bucket_of(mine) + 1)] if mine else []
    await insert_new(db.inbox_flags, flags)
    await db.inbox_reads.insert_one({"_id": ME, "left": mine // 3})
    await client.close()


async def seed_deliveries(settings: NotificationSettings, documents: int, mine: int) -> None:
    """Webhook deliveries of ``ME`` (``mine``) and of the others, through the store: done, one in
    five of them failed for good."""
    mongo = make_client(settings.mongodb_uri)
    store = Store(mongo[settings.database], KeyedLocks())
    counts = {ME: mine} | {f"p_{n}": (documents - mine) // OTHERS for n in range(OTHERS)}
    batch: list[dict[str, Any]] = []
    started, done = time.monotonic(), 0
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
                done += len(batch)
                batch = []
                if done % 20_000 == 0:
                    progress("deliveries", done, documents, started)
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


def _offers(documents: int, mine: int) -> Iterator[dict[str, Any]]:
    """Offers (``mine`` of them ``ME``'s, the newest) as the listing store writes them, oldest first."""
    templates = [_offer_template(n) for n in range(len(ZH) * len(FIELDS) * len(STATUSES) // 4)]
    for n in range(documents):
        owner = ME if n >= documents - mine else f"p_{n % LISTING_OWNERS}"
        yield {**templates[n % len(templates)], "_id": f"l_{n:012x}{n % 7919:06d}", "owner_id": owner}


async def seed_listings(settings: ListingSettings, documents: int, mine: int, *, index_at_start: bool) -> float:
    """Offers, stored with ``insert_many``; then their search index: built by the listing service's
    first start (``index_at_start``, as for a database of a version before the index: timed and
    returned), or else by the index's own bulk builder (``SearchIndex.build``) from the same
    documents, after a first start on the empty database (so the upgrades are marked done, as in a
    database this version created)."""
    client = make_client(settings.mongodb_uri)
    db = client[settings.database]
    if not index_at_start:
        app = listing_app(settings)
        async with app.router.lifespan_context(app):
            pass
    batch = []
    started = time.monotonic()
    for n, offer in enumerate(_offers(documents, mine), 1):
        batch.append(offer)
        if len(batch) == SEED_CHUNK:
            await db.listings.insert_many(batch)
            batch = []
            if n % 20_000 == 0:
                progress("offers", n, documents, started)
    if batch:
        await db.listings.insert_many(batch)
    started = time.monotonic()
    if index_at_start:
        app = listing_app(settings)
        async with app.router.lifespan_context(app):
            pass
    else:
        index = SearchIndex(db)
        await index.clear()

        async def items(side: Side) -> AsyncIterator[tuple[str, set[str]]]:
            for offer in (_offers(documents, mine) if side is Side.OFFER else ()):
                yield offer["_id"], listing_storage._index_terms(offer)

        for side in Side:
            await index.build(side, items(side))
    await client.close()
    return time.monotonic() - started


def _side(item: str, owner: str, party: PartyType) -> MatchSide:
    return MatchSide(item_id=item, owner_id=owner, party_type=party, title=LocalizedText(zh="芯片", en="Chip"))


FEATURES = [FeatureScore(name=name, value=0.5 + i / 20, weight=round(1 / (i + 2), 3), contribution=0.05)
            for i, name in enumerate(["text", "field", "trl", "amount", "region", "party", "freshness"])]
EXPLANATION = Explanation(zh=["领域一致：5G 射频前端", "技术成熟度 TRL 6 满足需求", "地区相同：成都高新区"],
                          en=["Same field: 5G RF front-end", "TRL 6 meets the need", "Same region: Chengdu Hi-tech Zone"])


async def seed_matches(app: Any, documents: int, mine: int) -> None:
    """Matches (``mine`` of them ``ME``'s) and one consortium per 10 of ``ME``'s matches, through
    the projection of this checkout."""
    store = app.state.store
    events = []
    started = time.monotonic()
    for n in range(documents):
        owner = ME if n < mine else f"p_{n % OTHERS}"
        kind = Kind.TECHNOLOGY if n % 2 else Kind.CAPITAL
        data = MatchData(match_id=f"m_{n:07d}", kind=kind, offer=_side(f"l_{n}", f"u_{n % 97}", PartyType.UNIVERSITY),
                         need=_side(f"d_{n}", owner, PartyType.ENTERPRISE), score=round(0.3 + (n * 7919 % 700) / 1000, 3),
                         features=FEATURES, explanation=EXPLANATION)
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
            if (n + 1) % 20_000 < SEED_CHUNK:
                progress("matches", n + 1, documents, started)
    await store.project_many(events)


class Reads(monitoring.CommandListener):
    """The store commands of the services in this process, while ``on``: finds (``_id`` look-ups on
    the paths measured), other commands, and the bytes the finds returned."""

    def __init__(self) -> None:
        self.on = False
        self.finds = self.others = self.bytes = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if self.on:
            if event.command_name == "find":
                self.finds += 1
            elif event.command_name not in ("saslContinue", "saslStart", "hello", "isMaster", "ping"):
                self.others += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        if self.on and event.command_name == "find":
            self.bytes += len(bson.encode(event.reply))

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


READS = Reads()
COUNTS: dict[str, tuple[int, int, int]] = {}
monitoring.register(READS)


async def counted(client: httpx.AsyncClient, path: str, params: dict[str, Any],
                  settings: NotificationSettings) -> tuple[int, int, int]:
    """One request's finds, other commands and KB found."""
    headers = {"authorization": f"Bearer {issue_token(settings, ME, PartyType.ENTERPRISE)[0]}"}
    READS.finds = READS.others = READS.bytes = 0
    READS.on = True
    try:
        response = await client.get(path, params=params, headers=headers)
    finally:
        READS.on = False
    assert response.status_code == 200, response.text
    return READS.finds, READS.others, round(READS.bytes / 1024)


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


PAGES_NOTIFICATION: list[tuple[str, str, dict[str, Any]]] = [
    ("/inbox", "/inbox", {}),
    ("/inbox next page", "/inbox", {"cursor": "next"}),
    ("/inbox?unread=true", "/inbox", {"unread": "true"}),
    ("/inbox/unread-count", "/inbox/unread-count", {}),
    ("/me/deliveries", "/me/deliveries", {}),
    ("/me/deliveries?status=dead", "/me/deliveries", {"status": "dead"}),
]
PAGES_LISTING: list[tuple[str, dict[str, Any]]] = [
    ("/listings", {}),
    ("/listings?q=量子芯片", {"q": "量子芯片"}),
    ("/listings?q=laser micromachining", {"q": "laser micromachining"}),
    ("/listings?kind&field&region", {"kind": "technology", "field": "EIT", "region": "CN-SC"}),
    ("/listings?mine=true", {"mine": "true"}),
]
PAGES_MATCHING: list[tuple[str, str, dict[str, Any]]] = [
    ("/matches", "/matches", {}),
    ("/matches?kind&min_score&status", "/matches", {"kind": "technology", "min_score": 0.6, "status": "active"}),
    ("/consortia", "/consortia", {}),
]
SEEDED = "bench_read_pages"
INDEX_AT_START_UP_TO = 20_000  # offers: above, the search index is built by SearchIndex.build when seeding  # a document in the notification database: the seed is complete


def settings_of(prefix: str) -> tuple[NotificationSettings, MatchingSettings, ListingSettings]:
    return (NotificationSettings(topic_prefix=prefix, database=f"{prefix}notification"),
            MatchingSettings(topic_prefix=prefix, database=f"{prefix}matching"),
            ListingSettings(topic_prefix=prefix, database=f"{prefix}listing"))


async def seeded(settings: NotificationSettings) -> dict[str, Any] | None:
    client = make_client(settings.mongodb_uri)
    try:
        return await client[settings.database][SEEDED].find_one({"_id": SEEDED})
    finally:
        await client.close()


async def seed(prefix: str, documents: int, inbox_entries: int, mine: int) -> dict[str, float]:
    """Everything the pages read, with progress; seconds per part (the listing service's start
    builds the search index of offers stored without one, as for a database of an earlier version)."""
    notification, matching, listing = settings_of(prefix)
    await ensure_topics(notification, topics.ALL)
    took: dict[str, float] = {}
    print(f"seeding {prefix}: {inbox_entries:,} inbox entries, {documents:,} deliveries, matches and offers, "
          f"{mine:,} of each the measured participant's", flush=True)
    for name, part in [("inbox", seed_inbox(notification, inbox_entries, mine)),
                       ("deliveries", seed_deliveries(notification, documents, mine))]:
        started = time.monotonic()
        await part
        took[name] = time.monotonic() - started
        print(f"{name} seeded in {took[name]:.0f} s", flush=True)
    started = time.monotonic()
    index_at_start = documents <= INDEX_AT_START_UP_TO
    took["search index"] = await seed_listings(listing, documents, mine, index_at_start=index_at_start)
    took["offers"] = time.monotonic() - started - took["search index"]
    print(f"offers seeded in {took['offers']:.0f} s, their search index built in {took['search index']:.0f} s "
          f"({'the listing service' + chr(39) + 's first start' if index_at_start else 'SearchIndex.build'})", flush=True)
    client = make_client(notification.mongodb_uri)
    await client[notification.database][SEEDED].insert_one({"_id": SEEDED, "documents": documents,
                                                            "inbox": inbox_entries, "mine": mine, "took": took,
                                                            "index_at_start": index_at_start})
    await client.close()
    return took


async def seed_matching(prefix: str, matching_db: str) -> float:
    """Matches and consortia through this checkout's projection, into ``matching_db`` (each
    checkout's own: the read model's layout is the code's); seconds, 0 when seeded already."""
    notification = settings_of(prefix)[0]
    matching = MatchingSettings(topic_prefix=prefix, database=f"{prefix}{matching_db}")
    client = make_client(notification.mongodb_uri)
    marks = client[notification.database][SEEDED]
    try:
        record = await marks.find_one({"_id": SEEDED})
        assert record is not None
        if await marks.find_one({"_id": f"matches:{matching_db}"}) is not None:
            return 0.0
        started = time.monotonic()
        app = matching_app(matching)
        async with app.router.lifespan_context(app):
            await seed_matches(app, record["documents"], record["mine"])
        took = time.monotonic() - started
        print(f"matches seeded in {took:.0f} s", flush=True)
        await marks.insert_one({"_id": f"matches:{matching_db}", "took": took})
        return took
    finally:
        await client.close()


async def measure(prefix: str, matching_db: str, samples: int,
                  budget: float) -> tuple[dict[str, list[float]], float]:
    """Each page's milliseconds on the seeded store; and the listing service's start in seconds."""
    notification, _, listing = settings_of(prefix)
    matching = MatchingSettings(topic_prefix=prefix, database=f"{prefix}{matching_db}")
    results: dict[str, list[float]] = {}
    app = notification_app(notification)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=600) as client:
        headers = {"authorization": f"Bearer {issue_token(notification, ME, PartyType.ENTERPRISE)[0]}"}
        first = (await client.get("/inbox", headers=headers)).json()
        for name, path, params in PAGES_NOTIFICATION:
            if params.get("cursor") == "next":
                params = {"cursor": first["next_cursor"]}
            COUNTS[name] = await counted(client, path, params, notification)
            results[name] = await timed(client, path, params, notification, samples=samples, budget=budget)
    started = time.perf_counter()
    app = listing_app(listing)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=600) as client:
        start = time.perf_counter() - started
        for name, params in PAGES_LISTING:
            COUNTS[name] = await counted(client, "/listings", params, notification)
            results[name] = await timed(client, "/listings", params, notification, samples=samples, budget=budget)
    app = matching_app(matching)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=600) as client:
        for name, path, params in PAGES_MATCHING:
            COUNTS[name] = await counted(client, path, params, notification)
            results[name] = await timed(client, path, params, notification, samples=samples, budget=budget)
    return results, start


async def main(documents: int, inbox_entries: int, mine: int, samples: int, budget: float, label: str,
               keep: str | None, matching_db: str, seed_only: bool) -> None:
    prefix = f"rp-{keep}-" if keep else f"bench{uuid.uuid4().hex[:8]}-"
    notification = settings_of(prefix)[0]
    try:
        seed_record = await seeded(notification)
        if seed_record is None:
            await seed(prefix, documents, inbox_entries, mine)
            seed_record = await seeded(notification)
            assert seed_record is not None
        else:
            print(f"reusing the store seeded under {prefix}", flush=True)
        if seed_only:
            return
        await seed_matching(prefix, matching_db)
        results, start = await measure(prefix, matching_db, samples, budget)
        matches_took = (await seeded_matches(notification, matching_db))["took"]
    finally:
        if not keep:
            await delete_namespace(notification.kafka_bootstrap_servers, notification.mongodb_uri, prefix)
    documents, inbox_entries, mine = seed_record["documents"], seed_record["inbox"], seed_record["mine"]
    lines = [f"| page ({label}, {documents:,} documents) | requests | p50 ms | p99 ms | finds | other commands | KB found |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for name, taken in results.items():
        finds, others, kb = COUNTS[name]
        lines.append(f"| `{name}` | {len(taken)} | {median(taken):.1f} | {percentile(taken, 99):.1f} | {finds} | {others} "
                     f"| {kb} |")
    table = "\n".join(lines)
    print(table)
    load = os.getloadavg()
    took = {k: v for k, v in seed_record["took"].items() if k != "matches"}
    built = ("at the listing service's first start (a scan, as for a database of an earlier version)"
             if seed_record.get("index_at_start", True) else "by SearchIndex.build from the seeded documents")
    write_section(f"read_pages_{label}_{documents}", f"Page reads, {label}, {documents:,} documents",
                  f"Command: `.venv/bin/python -m bench.read_pages --documents {documents} --inbox {inbox_entries} "
                  f"--mine {mine} --label {label} --keep {keep} --matching-db {matching_db}`; {inbox_entries:,} inbox "
                  f"entries and {documents:,} deliveries, matches and offers in the store, {mine:,} of each the "
                  f"measured participant's. Seeded in {sum(took.values()) + matches_took:.0f} s: inbox "
                  f"{took['inbox']:.0f} s, deliveries {took['deliveries']:.0f} s, offers {took['offers']:.0f} s, their "
                  f"search index {took['search index']:.0f} s ({built}), matches {matches_took:.0f} s (this "
                  f"checkout's projection). The listing service's start before its pages {start:.1f} s. Load average "
                  f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at the end.\n\n{table}")


async def seeded_matches(settings: NotificationSettings, matching_db: str) -> dict[str, Any]:
    client = make_client(settings.mongodb_uri)
    try:
        found = await client[settings.database][SEEDED].find_one({"_id": f"matches:{matching_db}"})
        return found or {"took": 0.0}
    finally:
        await client.close()


def side_by_side() -> None:
    """One table of every run's section (each checkout, each size) into ``read_pages.md``: per page
    p50 / p99 ms and the finds and KB one request read; the runs' own sections are folded into it
    (their paragraphs kept below the table)."""
    runs = sorted(RESULTS.glob("read_pages_*.md"), key=lambda path: (path.stem.split("_")[2] != "main",
                                                                      int(path.stem.split("_")[-1])))
    columns, notes = [], []
    pages: dict[str, dict[str, str]] = {}
    for path in runs:
        text = path.read_text()
        label, documents = path.stem.split("_")[2], int(path.stem.split("_")[-1])
        columns.append(f"{label}, {documents:,}")
        stamp = text.splitlines()[2].removeprefix("Measured ").split(" on ")[0]
        notes.append(f"- **{columns[-1]}** ({stamp}): " + text.split("\n\n")[2].strip())
        for line in text.splitlines():
            if line.startswith("| `"):
                name, _, p50, p99, finds, _, kb = (cell.strip() for cell in line.strip("|").split("|"))
                pages.setdefault(name, {})[columns[-1]] = f"{float(p50):,.0f} / {float(p99):,.0f} · {finds} · {kb}"
    lines = ["| page | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
    lines += [f"| {name} | " + " | ".join(cells.get(c, "—") for c in columns) + " |" for name, cells in pages.items()]
    write_section("read_pages", "Page reads on FerretDB: main and this branch, 10,000 and 100,000 documents",
                  "Each cell: p50 / p99 ms · finds (`_id` look-ups) · KB found, of one request, for the participant "
                  "measured; FerretDB v1 (SQLite), the services in-process (ASGI), so the figures are the service "
                  "and the store without a network. Columns: checkout, deliveries, matches and offers in the store "
                  "(inbox entries: ten times as many). Runs (`.venv/bin/python -m bench.read_pages --keep NAME "
                  "--matching-db DB --label L` in each checkout, main's a `git worktree` with this file copied in, on "
                  "one seeded store; then `--side-by-side`):\n\n" + "\n".join(notes) + "\n\n" + "\n".join(lines))
    for path in runs:
        path.unlink()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, default=10_000, help="deliveries, matches and offers in the store")
    parser.add_argument("--inbox", type=int, default=None, help="inbox entries in the store (default: 10 x documents)")
    parser.add_argument("--keep", default=None, help="seed under this name once and keep it (runs reuse it)")
    parser.add_argument("--drop", action="store_true", help="delete the store kept under --keep, and stop")
    parser.add_argument("--matching-db", default="matching",
                        help="the matching database's name under the prefix (each checkout's own read model)")
    parser.add_argument("--seed-only", action="store_true", help="seed all but the matches, do not measure")
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
    if args.drop:
        kept = settings_of(f"rp-{args.keep}-")[0]
        asyncio.run(delete_namespace(kept.kafka_bootstrap_servers, kept.mongodb_uri, f"rp-{args.keep}-"))
        raise SystemExit
    documents = 1_000 if args.quick else args.documents
    asyncio.run(main(documents, args.inbox or 10 * documents, min(args.mine, 100) if args.quick else args.mine,
                     args.samples, args.budget, args.label, args.keep, args.matching_db, args.seed_only))
