"""The demo's data set as the matching service's input events, and how long the service takes
to turn them into matches, consortia and agendas that the query API can serve.

    .venv/bin/python -m bench.matching_demo [--in-process] [--profile]

``--in-process`` runs the same events through the ``Processor`` over dicts (no Kafka, no
MongoDB); otherwise the real worker runs as a process on a throw-away namespace and the time is
taken from publishing the input to the last output being queryable (matches and consortia in
MongoDB, the three agendas published)."""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import shutil
import signal
import os
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from aiokafka import AIOKafkaProducer

from bench.common import free_port, write_section
from bench.matching_service import _start
from hardtech.demo import dataset
from hardtech.namespace import delete_namespace
from services.matching.events import BATCH_SIZE
from services.matching.projection import BATCH_SIZE as PROJECTION_BATCH_SIZE
from services.matching.processor import Processor, State
from services.matching.settings import Settings
from shared import topics
from shared.events import CloudEvent, EventData, encode, new_event
from shared.events.listing import ItemData, ItemStatus, ParticipantData
from shared.events.sessions import (
    MeetingPlan, MeetingRequestData, Registrant, RegistrationClosedData, RegistrationData, RegistrationStatus,
    SessionData,
)
from services.matching.storage import MatchingStore
from shared.kafka import ensure_topics
from shared.locks import KeyedLocks
from shared.mongo import make_client
from shared.topics import topic_of_event


def demo_events(now: datetime | None = None) -> list[tuple[str, CloudEvent]]:
    """(key, event) in the order the demo publishes them: participants, items, sessions,
    registrations, meeting requests, then each session's closing."""
    now = now or datetime.now(UTC)
    data = dataset.load()
    out: list[tuple[str, CloudEvent]] = []

    def add(type_name: str, payload: EventData, key: str) -> None:
        out.append((key, new_event(type_name, payload, source="/bench", subject=key)))

    party = {}
    for p in data.participants:
        party[p.key] = p.party_type
        add("participant.registered.v1", ParticipantData(
            id=p.key, party_type=p.party_type, organisation=p.organisation, display_name=p.display_name,
            region=p.region, fields=p.fields, language=p.language, email=p.email), p.key)
    for i in data.items:
        item = ItemData(id=i.key, side=i.side, kind=i.kind, owner_id=i.owner, owner_party_type=party[i.owner],
                        title=i.title, description=i.description, fields=i.fields, keywords=i.keywords, trl=i.trl,
                        ip_status=i.ip_status, patents=i.patents, transfer_modes=i.transfer_modes, amount=i.amount,
                        region=i.region, region_preference=i.region_preference, status=ItemStatus.OPEN,
                        expires_at=None, created_at=now, updated_at=now)
        add(f"{'listing' if i.side == 'offer' else 'demand'}.created.v1", item, i.key)
    sessions: dict[str, SessionData] = {}
    for s in data.sessions:
        plan = s.meeting_plan
        sessions[s.key] = SessionData(
            id=s.key, organiser_id=s.organiser, title=s.title, fields=s.fields, city=s.city,
            starts_at=s.starts.after(now), ends_at=s.ends.after(now),
            registration_opens_at=s.registration_opens.after(now),
            registration_closes_at=s.registration_closes.after(now), capacity=s.capacity, quotas=s.quotas,
            meeting_plan=MeetingPlan(first_slot_at=plan.first_slot.after(now), slot_minutes=plan.slot_minutes,
                                     slots=plan.slots, tables=plan.tables, min_meetings=plan.min_meetings,
                                     max_meetings=plan.max_meetings))
        add("session.created.v1", sessions[s.key], s.key)
    registrants: dict[str, list[Registrant]] = {k: [] for k in sessions}
    for n, r in enumerate(data.registrations, start=1):
        registration = RegistrationData(
            session_id=r.session, registration_id=f"r{n}", participant_id=r.participant,
            party_type=party[r.participant], role=r.role, listing_ids=r.listings, interests=r.interests,
            status=RegistrationStatus.CONFIRMED, sequence=n)
        registrants[r.session].append(Registrant(**registration.model_dump(
            include={"registration_id", "participant_id", "party_type", "role", "listing_ids", "interests"})))
        add("registration.confirmed.v1", registration, r.session)
    requests: dict[str, list[MeetingRequestData]] = {k: [] for k in sessions}
    for m in data.meeting_requests:
        request = MeetingRequestData(session_id=m.session, requester_id=m.requester, target_id=m.target,
                                     preference=m.preference)
        requests[m.session].append(request)
        add("meeting.requested.v1", request, m.session)
    for key, session in sessions.items():
        add("session.registration_closed.v1", RegistrationClosedData(
            session=session.model_copy(update={"registration_open": False}), registrants=registrants[key],
            meeting_requests=requests[key]), key)
    return out


def outputs_of(events: list[tuple[str, CloudEvent]], profiler: cProfile.Profile | None = None,
               processor: Processor | None = None) -> tuple[list[CloudEvent], float]:
    """The output events of the input handled as the worker handles a backlog: batches of
    ``BATCH_SIZE``, consortia settled once caught up (the last, partial batch); and the time."""
    processor = processor or Processor(State(items={}, participants={}, feedback={}, sessions={}, ledger={}))
    outputs: list[CloudEvent] = []
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    for start in range(0, len(events), BATCH_SIZE):
        batch = processor.new_batch()
        chunk = events[start:start + BATCH_SIZE]
        for position, (_, event) in enumerate(chunk, start=start):
            processor.handle(event, batch, position)
        processor.finish(batch, settle_consortia=len(chunk) < BATCH_SIZE)
        processor.commit(batch)
        outputs.extend(e.event for e in batch.emissions)
    if profiler:
        profiler.disable()
    return outputs, time.perf_counter() - started


def in_process(profile: bool) -> None:
    events = demo_events()
    profiler = cProfile.Profile() if profile else None
    outputs, elapsed = outputs_of(events, profiler)
    emitted = Counter(e.type for e in outputs)
    print(f"{len(events)} events in {elapsed:.1f}s ({len(events) / elapsed:.0f}/s); emitted {sum(emitted.values())}")
    for type_name, count in sorted(emitted.items()):
        print(f"  {type_name}: {count}")
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)


async def end_to_end() -> None:
    namespace = f"benchdemo{uuid.uuid4().hex[:6]}-"
    workdir = Path(tempfile.mkdtemp(prefix="matching-demo-"))
    settings = Settings(topic_prefix=namespace, port=free_port(), datadir=workdir / "data",
                        database=f"{namespace.rstrip('-')}_matching")
    await ensure_topics(settings, topics.ALL)
    events = demo_events()
    in_process_started = time.perf_counter()
    expected = _expected_outputs(events)
    in_process_seconds = time.perf_counter() - in_process_started
    process = _start(settings, workdir / "matching.log", ready_within=300)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all", linger_ms=5,
                                enable_idempotence=True, **settings.kafka_client_options())
    await producer.start()
    client = make_client(settings.mongodb_uri)
    db = client[settings.database]
    try:
        started = time.monotonic()
        futures = [await producer.send(topic_of_event(e.type).full_name(namespace), encode(e), key=key.encode())
                   for key, e in events]
        await asyncio.gather(*futures)
        print(f"published {len(events)} events in {time.monotonic() - started:.1f}s", flush=True)
        # The worker reads the input topics' partitions in another order than they were published,
        # so its matches differ a little from the in-process ones: done is all three agendas
        # stored and no document added since the last look.
        previous: dict[str, int] = {}
        while True:
            counts = {name: await db[name].count_documents({}) for name in ("matches", "consortia", "agendas")}
            elapsed = time.monotonic() - started
            print(f"{elapsed:6.1f}s {counts}", flush=True)
            if (counts == previous and counts["agendas"] == expected["agendas"]) or elapsed > 400:
                break
            previous = counts
            await asyncio.sleep(2)
        print(f"all projected after {elapsed:.1f}s (in-process the same input gives {expected})")
        rows = [
            ("input events published (participants, items, sessions, registrations, requests, closings)",
             f"{len(events):,}", "—"),
            ("publish → every match, consortium and agenda queryable in MongoDB (worker + projection)",
             f"{elapsed:.1f} s (last look; polled every ~2 s)", "≤ ~60 s"),
            ("documents: matches / consortia / agendas",
             f"{counts['matches']:,} / {counts['consortia']:,} / {counts['agendas']}", "—"),
            ("same input in-process (Processor over dicts, no Kafka, no MongoDB)", f"{in_process_seconds:.1f} s",
             "comparison"),
        ]
        table = "| measure | value | goal |\n|---|---|---|\n" + "\n".join(f"| {a} | {b} | {c} |" for a, b, c in rows)
        print(table)
        path = write_section("matching_demo", "Matching service on the demo's data set (end to end)",
                             "One worker (`python -m services.matching.worker`, beside the query API) on the local broker and FerretDB, fed the "
                             "events of `hardtech.demo.dataset` on a throw-away namespace.\n\n" + table)
        print(f"wrote {path}")
    finally:
        await producer.stop()
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)
        await client.close()
        shutil.rmtree(workdir, ignore_errors=True)
        await delete_namespace(settings.kafka_bootstrap_servers, settings.mongodb_uri, namespace)


async def projection(sample: int) -> None:
    """The read model written from the demo's output events: one write per event (as before)
    on the first ``sample`` events, against batches folded per document (``project_many``)."""
    outputs, _ = outputs_of(demo_events())
    settings = Settings(database=f"benchdemo{uuid.uuid4().hex[:6]}_matching")
    client = make_client(settings.mongodb_uri)
    try:
        one_by_one = MatchingStore(client[settings.database + "_single"], source="/bench", locks=KeyedLocks())
        await one_by_one.ensure_indexes()
        started = time.monotonic()
        for event in outputs[:sample]:
            await one_by_one.project(event)
        single = (time.monotonic() - started) / sample
        batched = MatchingStore(client[settings.database], source="/bench", locks=KeyedLocks())
        await batched.ensure_indexes()
        started = time.monotonic()
        for start in range(0, len(outputs), PROJECTION_BATCH_SIZE):
            await batched.project_many(outputs[start:start + PROJECTION_BATCH_SIZE])
        elapsed = time.monotonic() - started
        documents = {name: await client[settings.database][name].count_documents({})
                     for name in ("matches", "consortia", "agendas")}
    finally:
        for name in (settings.database, settings.database + "_single"):
            await client.drop_database(name)
        await client.close()
    print(f"{len(outputs)} output events {dict(Counter(e.type for e in outputs))}")
    print(f"one write per event: {single * 1000:.1f} ms/event over {sample} → {single * len(outputs):.0f} s for all")
    print(f"folded batches of {PROJECTION_BATCH_SIZE}: {elapsed:.1f} s for all ({documents})")


def _expected_outputs(events: list[tuple[str, CloudEvent]]) -> dict[str, int]:
    """Distinct matches, consortia and agendas the same input gives in-process."""
    processor = Processor(State(items={}, participants={}, feedback={}, sessions={}, ledger={}))
    keys: dict[str, set[str]] = {"matches": set(), "consortia": set(), "agendas": set()}
    batch = processor.new_batch()
    for position, (_, event) in enumerate(events):
        processor.handle(event, batch, position)
    processor.finish(batch)
    for emission in batch.emissions:
        keys[emission.topic.name].add(emission.key)
    return {name: len(found) for name, found in keys.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--in-process", action="store_true")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--projection", type=int, metavar="SAMPLE", help="time the MongoDB projection only")
    args = parser.parse_args()
    if args.in_process:
        in_process(args.profile)
    elif args.projection:
        asyncio.run(projection(args.projection))
    else:
        asyncio.run(end_to_end())


if __name__ == "__main__":
    main()
