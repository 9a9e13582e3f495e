"""Reading a document by ``_id`` from the embedded store, its nested values stored as elements
(as before) or packed into one JSON text (``shared.mongo.pack``), in the same run, interleaved.

Documents shaped as the services store them: a session with N registrations and N/2 meeting
requests (events_sessions, built by its storage adapter from the real domain model, read back into
the model) and a page of 20 inbox entries about a match (notification). The time is to the
answer in Python, decoding included.  Usage: python -m bench.store_packing [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from bench.common import median, percentile, write_section
from services.events_sessions.domain.model import (MeetingRequest, Registration, Session, meeting_key,
                                                   participant_key)
from services.events_sessions.storage import BOOK, _document, to_session
from services.notification.storage import ENTRY_PACKED
from shared.events.sessions import MeetingPreference, RegistrationStatus, Role
from shared.mongo import find_by_ids, make_client, pack, unpack
from shared.party_types import PartyType
from shared.settings import CommonSettings

T0 = datetime(2026, 12, 12, 1, 0, tzinfo=UTC)
INBOX_PAGE = 20


def session_with(registrations: int) -> Session:
    people = [f"p_{n:024x}" for n in range(registrations)]
    return Session.model_validate({
        "id": f"s_{registrations}", "organiser_id": "p_organiser", "created_at": T0,
        "title": {"zh": "成都高新区5G通信硬科技专场", "en": "Chengdu Hi-tech Zone 5G session"},
        "fields": ["5G"], "city": "CN-SC.CD", "high_tech_zone": "CDHT", "venue": "天府国际会议中心",
        "starts_at": T0 + timedelta(days=5), "ends_at": T0 + timedelta(days=5, hours=8),
        "registration_opens_at": T0, "registration_closes_at": T0 + timedelta(days=4),
        "capacity": {"presenters": 40, "attendees": registrations}, "sequence": registrations,
        "registrations": {participant_key(p): Registration(
            registration_id=f"r_{n:020x}", participant_id=p, party_type=PartyType.ENTERPRISE, role=Role.ATTENDEE,
            listing_ids=[f"l_{n:024x}"], interests=["5G.RF"], status=RegistrationStatus.CONFIRMED, sequence=n + 1,
            check_in_code=f"{n:08d}", registered_at=T0, updated_at=T0) for n, p in enumerate(people)},
        "meeting_requests": {meeting_key(a, b): MeetingRequest(requester_id=a, target_id=b,
                                                            preference=MeetingPreference.MUST_MEET, requested_at=T0)
                             for a, b in zip(people[::2], people[1::2], strict=False)}})


def inbox_entry(recipient: str, seq: int) -> dict[str, Any]:
    """An inbox entry about a match as the notification service writes it (its data unpacked)."""
    lines = ["领域：5G通信 · 射频前端", "文本相关度 0.62（共同关键词：毫米波、相控阵、射频芯片）", "TRL 6 满足需求 ≥ 5",
             "预算区间重叠（报价 CNY 2,800,000–6,400,000，预算 CNY 2,300,000–6,000,000）", "转化方式：双方均接受许可",
             "地域：在偏好的四川范围内（成都、绵阳）", "高校 → 科技企业，组合契合度 1.00", "信息新鲜度 1.00"]
    side = {"item_id": f"l_{seq:024x}", "owner_id": recipient, "party_type": "university",
            "title": {"zh": "毫米波相控阵射频芯片", "en": "mmWave phased-array RF chip"}}
    return {"_id": f"{recipient}:{seq}", "notification": f"msg_{seq:032x}", "recipient": recipient, "seq": seq,
            "type": "match.created", "event_id": str(uuid.uuid4()), "subject": "新的技术匹配：5G 基站射频前端（匹配度 72%）",
            "created_at": T0, "category": "match", "language": "zh-CN", "body": "\n".join(lines), "read": False,
            "archived": False,
            "data": {"match_id": f"m_{seq:024x}", "kind": "technology", "score": 0.72, "own": side,
                     "other": {**side, "owner_id": "p_other"}, "other_name": {"zh": "吴雪梅", "en": "Wu Xuemei"},
                     "link": f"/matches/m_{seq:024x}", "explanation": {"zh": lines, "en": lines},
                     "parts": {"field": 1.0, "text": 0.62, "trl": 1.0, "budget": 1.0, "mode": 1.0, "region": 1.0}}}


async def _times(read: Callable[[], Awaitable[Any]], rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        await read()
        times.append(time.perf_counter() - started)
    return times


async def _read_session(collection: Any, session_id: str) -> Session:
    return to_session(await collection.find_one({"_id": session_id}))


async def _read_page(collection: Any, ids: list[str]) -> list[dict[str, Any]]:
    return [unpack(d, ENTRY_PACKED) for d in await find_by_ids(collection, ids)]


async def main(quick: bool) -> None:
    rounds = 30 if quick else 200
    client = make_client(CommonSettings().mongodb_uri)
    db = client[f"bench_packing_{uuid.uuid4().hex[:8]}"]
    rows = []
    try:
        for registrations in ((50, 200) if quick else (50, 200, 500)):
            session = session_with(registrations)
            packed = _document(session)
            await db.packed.insert_one(packed)
            await db.elements.insert_one(unpack(packed, BOOK))

            rows.append((f"a session of {registrations} registrations and {registrations // 2} meeting requests",
                         *await _pair(partial(_read_session, db.elements, session.id),
                                      partial(_read_session, db.packed, session.id), rounds)))
        entries = [inbox_entry("p_me", seq) for seq in range(1, INBOX_PAGE + 1)]
        await db.inbox_elements.insert_many(entries)
        await db.inbox_packed.insert_many([pack(e, ENTRY_PACKED) for e in entries])
        ids = [e["_id"] for e in entries]

        rows.append((f"a page of {INBOX_PAGE} inbox entries about matches",
                     *await _pair(partial(_read_page, db.inbox_elements, ids),
                                  partial(_read_page, db.inbox_packed, ids), rounds)))
    finally:
        await client.drop_database(db.name)
        await client.close()
    _report(rows, rounds, quick)


async def _pair(elements: Callable[[], Awaitable[Any]], packed: Callable[[], Awaitable[Any]],
                rounds: int) -> tuple[list[float], list[float]]:
    """Both layouts read in alternation, so that the machine's load weighs on both alike."""
    first, second = [], []
    for _ in range(rounds // 10):
        first += await _times(elements, 10)
        second += await _times(packed, 10)
    return first, second


def _report(rows: list, rounds: int, quick: bool) -> None:
    lines = ["| document(s) read by `_id` | as elements p50 / p99 ms | packed p50 / p99 ms | p50 ratio |",
             "|---|---:|---:|---:|"]
    for name, elements, packed in rows:
        lines.append(f"| {name} | {median(elements) * 1000:.1f} / {percentile(elements, 99) * 1000:.1f} | "
                     f"{median(packed) * 1000:.1f} / {percentile(packed, 99) * 1000:.1f} | "
                     f"{median(elements) / median(packed):.1f}× |")
    table = "\n".join(lines)
    print(table)
    body = (f"{'Quick run: ' if quick else ''}{rounds} reads per layout and row, alternating ten of one layout with "
            "ten of the other; FerretDB v1.24.2 (SQLite), one client, the time to the decoded answer in Python "
            "(a session into the domain model, inbox entries into dicts).\n\n"
            f"Command: `.venv/bin/python -m bench.store_packing{' --quick' if quick else ''}`\n\n{table}\n\n"
            "FerretDB v1 turns every stored element into one of its own values on every read, so the cost of "
            "a read follows the number of elements, not the bytes: the services keep nested values that are "
            "only ever read whole (a session's registrations and meeting requests, an inbox entry's event "
            "data, a match's or consortium's data) as one JSON text each.")
    print("wrote", write_section("store_packing", "Store: nested values as elements or packed, read by _id", body))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="30 reads per layout, sessions of 50 and 200")
    asyncio.run(main(parser.parse_args().quick))
