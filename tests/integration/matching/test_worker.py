"""The matching service as a real process on the real broker: input events in, explained match
events out, the query API over its projection, dead letters, and a kill -9 mid-stream."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord

from services.matching.events import DEAD_LETTER
from shared import taxonomy, topics
from shared.auth import issue_token
from shared.events import decode
from shared.events.matching import match_id
from shared.kafka import DLQ_REASON
from shared.party_types import PartyType
from tests.integration.matching.conftest import MatchingProcess, Publisher
from tests.support import OPERATOR, read_by_binding, read_records, wait_for
from tests.unit.matching.factories import need, offer

pytestmark = pytest.mark.integration

SUB_FIELDS = sorted(code for code, f in taxonomy.FIELDS.items() if f.parent)


def _pair(n: int):
    """An offer and a need that belong together: same sub-field, shared words."""
    code = SUB_FIELDS[n % len(SUB_FIELDS)]
    field = taxonomy.FIELDS[code]
    words = f"{field.en} module series {n}"
    return (offer(f"o{n}", owner=f"uni{n}", fields=[code], zh=f"{field.zh}成果{n}", en=words, trl=6),
            need(f"n{n}", owner=f"ent{n}", fields=[code], zh=f"寻求{field.zh}{n}", en=f"need {words}", trl=5))


async def _records(settings, spec, count: int, timeout: float = 30.0):
    return await read_records(settings.kafka_bootstrap_servers, spec.full_name(settings.topic_prefix), count=count,
                              timeout=timeout)


async def _everything(settings, spec) -> list[ConsumerRecord]:
    """Every record the topic holds now (up to its end offsets)."""
    consumer = AIOKafkaConsumer(spec.full_name(settings.topic_prefix), bootstrap_servers=settings.kafka_bootstrap_servers,
                                auto_offset_reset="earliest", enable_auto_commit=False, group_id=None,
                                **settings.kafka_client_options())
    await consumer.start()
    try:
        partitions = consumer.assignment() or await _assigned(consumer)
        ends = await consumer.end_offsets(list(partitions))
        records: list[ConsumerRecord] = []
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            for part in (await consumer.getmany(timeout_ms=500)).values():
                records.extend(part)
        return records
    finally:
        await consumer.stop()


async def _assigned(consumer: AIOKafkaConsumer) -> set:
    while not consumer.assignment():
        await asyncio.sleep(0.05)
    return consumer.assignment()


async def test_offers_and_needs_become_explained_matches_queryable_and_declinable(
        registry_topics, matching_process: MatchingProcess, publisher: Publisher):
    settings = matching_process.settings
    await asyncio.to_thread(matching_process.start)
    tech_offer, tech_need = _pair(0)
    await publisher.participant("uni0", PartyType.UNIVERSITY)
    await publisher.item(tech_offer)
    await publisher.producer.send(topics.LISTINGS.full_name(settings.topic_prefix), b"{not json", key="bad")
    await publisher.item(tech_need)

    created = [decode(r.value) for r in await _records(settings, topics.MATCHES, 1)]
    match = created[0]
    assert match.type == "match.created.v1" and match.source == "/services/matching"
    assert match.data.match_id == match_id("o0", "n0")
    assert match.data.explanation.zh and match.data.explanation.en
    assert {f.name for f in match.data.features} and 0.35 <= match.data.score <= 1
    dead = await _records(settings, DEAD_LETTER, 1)
    assert dict(dead[0].headers)[DLQ_REASON].decode().startswith("not JSON")

    token, _ = issue_token(settings, "ent0", PartyType.ENTERPRISE)
    stranger, _ = issue_token(settings, "someone", PartyType.ENTERPRISE)
    async with httpx.AsyncClient(base_url=matching_process.url, headers={"Authorization": f"Bearer {token}"}) as api:
        async def listed():
            page = (await api.get("/matches")).json()
            return page["items"] or None

        items = await wait_for(listed, what="the match in the query API")
        assert items[0]["match_id"] == match.data.match_id and items[0]["status"] == "active"
        other = await api.get(f"/matches/{match.data.match_id}", headers={"Authorization": f"Bearer {stranger}"})
        assert other.status_code == 403
        declined = await api.post(f"/matches/{match.data.match_id}/feedback",
                                  json={"decision": "decline", "reason": "too_early_stage"})
        assert declined.status_code == 202, declined.text

        async def retracted_for_me():
            body = (await api.get(f"/matches/{match.data.match_id}")).json()
            return body["status"] == "retracted"

        await wait_for(retracted_for_me, what="the decline to retract the match for the decliner")
    output_records = await _records(settings, topics.MATCHES, 2)
    outputs = [decode(r.value) for r in output_records]
    assert outputs[1].type == "match.retracted.v1" and outputs[1].data.for_participant == "ent0"
    # Outputs and the forwarded work are structured-mode CloudEvents by the Kafka binding.
    assert [read_by_binding(r).get_id() for r in output_records] == [e.id for e in outputs]
    work = [r for r in await _everything(settings, topics.MATCHING_WORK) if r.value]  # without settle marks
    assert sorted(read_by_binding(r).get_type() for r in work) == [  # ordered per input topic, not across
        "demand.created.v1", "listing.created.v1", "match.feedback_given.v1", "participant.registered.v1"]
    metrics = httpx.get(f"{matching_process.url}/metrics", headers=OPERATOR).text
    assert "matching_outputs_emitted_total" in metrics and "matching_processing_seconds_bucket" in metrics


async def test_a_killed_worker_restarts_with_no_match_missing_and_repeats_carrying_the_same_ids(
        registry_topics, matching_process: MatchingProcess, publisher: Publisher):
    settings = matching_process.settings
    pairs = [_pair(n) for n in range(40)]
    await asyncio.to_thread(matching_process.start)
    for tech_offer, tech_need in pairs[:25]:
        await publisher.item(tech_offer)
        await publisher.item(tech_need)
    await _records(settings, topics.MATCHES, 3)  # mid-stream: some matches out, others still coming
    await asyncio.to_thread(matching_process.kill)
    for tech_offer, tech_need in pairs[25:]:
        await publisher.item(tech_offer)
        await publisher.item(tech_need)
    await asyncio.to_thread(matching_process.start)

    expected = {match_id(o.id, n.id) for o, n in pairs}

    async def all_created():
        events = [decode(r.value) for r in await _everything(settings, topics.MATCHES)]
        created = {e.data.match_id for e in events if e.type == "match.created.v1"}
        return events if expected <= created else None

    events = await wait_for(all_created, timeout=60, what="a match for every pair after the restart")
    by_id: dict[str, set[str]] = {}
    for event in events:
        by_id.setdefault(event.id, set()).add(json.dumps(event.model_dump(mode="json", exclude={"time"}),
                                                         sort_keys=True))
    differing = {event_id: copies for event_id, copies in by_id.items() if len(copies) > 1}
    assert not differing, f"repeated event ids carried different content: {differing}"
    created_ids: dict[str, set[str]] = {}
    for event in events:
        if event.type == "match.created.v1":
            created_ids.setdefault(event.data.match_id, set()).add(event.id)
    assert all(len(ids) == 1 for ids in created_ids.values()), "a repeated creation got a new event id"


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def test_the_projection_process_is_started_again_after_a_crash_and_ends_with_its_worker(
        registry_topics, matching_process: MatchingProcess, publisher: Publisher):
    await asyncio.to_thread(matching_process.start)
    [projection] = matching_process.children()
    os.kill(projection, signal.SIGKILL)

    async def restarted():
        return [pid for pid in matching_process.children() if pid != projection]

    [again] = await wait_for(restarted, timeout=60, what="a new projection process")
    tech_offer, tech_need = _pair(0)
    await publisher.item(tech_offer)
    await publisher.item(tech_need)
    token, _ = issue_token(matching_process.settings, "ent0", PartyType.ENTERPRISE)
    async with httpx.AsyncClient(base_url=matching_process.url, headers={"Authorization": f"Bearer {token}"}) as api:
        async def listed():
            return (await api.get("/matches")).json()["items"]

        # A new projection process joins its consumer group first: seconds on a loaded machine.
        [match] = await wait_for(listed, timeout=60, what="the match projected by the new projection process")
    assert match["match_id"] == match_id("o0", "n0")

    os.kill(matching_process.pid, signal.SIGKILL)  # the worker alone, not its process group
    await wait_for(lambda: asyncio.sleep(0, result=not _running(again)), what="the orphaned projection to exit")
