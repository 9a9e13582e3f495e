"""Poison on every topic a service consumes: not JSON, the wrong schema, an unknown type and a
huge (~900 KB) message. Each consumer puts each one on its dead-letter topic with the reason in
``dlq.reason`` and its original bytes (the huge one cut at the limit, saying so), and goes on:
good input after the poison is still processed, and the dead-letter topics gain exactly the
poison, each record once."""

from __future__ import annotations

import json
import uuid

import pytest

from shared import topics
from shared.kafka import DLQ_MAX_VALUE_BYTES, DLQ_REASON, Producer
from shared.topics import TopicSpec
from tests.reliability.conftest import Stack
from tests.reliability.workload import Apis, Round, check_everything, eventually, topic_records

pytestmark = [pytest.mark.integration, pytest.mark.reliability]

# Who reads what, by dead-letter topic (matching's projection process uses matching's).
CONSUMERS: dict[str, tuple[str, ...]] = {
    topics.PARTICIPANTS.name: ("matching", "notification", "deals"),
    topics.LISTINGS.name: ("matching", "events_sessions", "deals"),
    topics.DEMANDS.name: ("matching", "deals"),
    topics.SESSIONS.name: ("matching", "notification", "deals"),
    topics.MATCH_FEEDBACK.name: ("matching", "deals"),
    topics.MATCHES.name: ("matching", "notification", "deals"),
    topics.CONSORTIA.name: ("matching", "notification"),
    topics.AGENDAS.name: ("matching", "notification", "events_sessions", "deals"),
    topics.ALERTS.name: ("notification",),
    topics.DEALS.name: ("deals",),
}
DEAD_LETTERING = ("matching", "notification", "events_sessions", "deals")
HUGE_BYTES = 900 * 1024


def envelope(type_name: str, data: object) -> bytes:
    return json.dumps({"specversion": "1.0", "id": str(uuid.uuid4()), "source": "/tests/poison", "type": type_name,
                       "time": "2026-01-01T00:00:00Z", "datacontenttype": "application/json",
                       "data": data}).encode()


def poisons(spec: TopicSpec) -> dict[str, bytes]:
    allowed = spec.event_types[0]
    return {
        "not-json": b"{this is not json \xff",
        "wrong-schema": envelope(allowed, {"id": 42, "unexpected": ["field"]}),
        "unknown-type": envelope("poison.never_heard_of.v1", {}),
        "huge": envelope(allowed, {"blob": "x" * HUGE_BYTES}),
    }


async def test_poison_on_every_consumed_topic_is_dead_lettered_with_reasons_and_consumers_go_on(
        healthy_stack: Stack, apis: Apis):
    stack = healthy_stack
    tag = uuid.uuid4().hex[:6]
    bootstrap = stack.endpoints.kafka_bootstrap_servers
    before = {consumer: {(r.partition, r.offset)
                         for r in await topic_records(bootstrap, stack.topic(topics.dead_letter(consumer)))}
              for consumer in DEAD_LETTERING}
    producer = Producer(stack.settings, client_id="reliability-poison")
    sent: dict[str, TopicSpec] = {}  # key → topic
    values: dict[str, bytes] = {}  # key → the bytes sent
    try:
        for spec in (spec for spec in topics.ALL if spec.name in CONSUMERS):
            for kind, value in poisons(spec).items():
                key = f"poison-{tag}-{kind}-{spec.name}"
                await producer.send(stack.topic(spec), value, key=key)
                sent[key] = spec
                values[key] = value
    finally:
        await producer.stop()

    # good input after the poison: a whole round, then one decline through match-feedback
    round_ = Round(apis, tag=f"p{tag}", pairs=2)
    await round_.run()
    await check_everything(round_, stack.consumer_groups())
    pair = round_.done[0]
    await apis.matching.call("POST", f"/matches/{pair.match_id}/feedback", token=pair.enterprise.token,
                             json={"decision": "decline", "reason": "not_our_field"}, accept=(202,))

    async def declined() -> str | None:
        seen = await apis.matching.json("GET", f"/matches/{pair.match_id}", token=pair.enterprise.token)
        if seen["status"] != "retracted":
            return f"match {pair.match_id} still {seen['status']} for the enterprise that declined it"
        inbox = await apis.notification.pages("/inbox", token=pair.enterprise.token)
        if not [e for e in inbox if e["type"] == "match.retracted" and e["data"]["match_id"] == pair.match_id]:
            return "no match.retracted notification after the decline"
        return None

    await eventually(declined, timeout=90, what="the decline to go through match-feedback")

    for consumer in DEAD_LETTERING:
        expected = {key: spec for key, spec in sent.items() if consumer in CONSUMERS[spec.name]}
        dlq = stack.topic(topics.dead_letter(consumer))

        async def all_there(dlq=dlq, expected=expected) -> str | None:  # bound: defined in a loop
            records = {r.key.decode(): r for r in await topic_records(stack.endpoints.kafka_bootstrap_servers, dlq)
                       if r.key and r.key.decode() in expected}
            missing = sorted(set(expected) - set(records))
            return f"{len(missing)} poison records missing from {dlq}: {missing[:6]}" if missing else None

        await eventually(all_there, timeout=60, what=f"the poison in {dlq}")
        # Exactly the poison was added to the dead-letter topic: each record once, nothing else.
        records = [r for r in await topic_records(bootstrap, dlq) if (r.partition, r.offset) not in before[consumer]]
        keys = [r.key.decode() if r.key else None for r in records]
        assert sorted(keys, key=str) == sorted(expected), f"{dlq} got {keys}, expected the poison {sorted(expected)}"
        for record in records:
            headers = {k: v.decode() for k, v in record.headers}
            key = record.key.decode()
            assert headers.get(DLQ_REASON), f"{key} on {dlq} has no {DLQ_REASON} header"
            assert headers.get("dlq.topic") == stack.topic(expected[key]), f"{key} on {dlq}: {headers}"
            kind = key.split("-")[2]
            reason = headers[DLQ_REASON]
            assert {"not": "not JSON", "wrong": expected[key].event_types[0], "unknown": "poison.never_heard_of.v1",
                    "huge": expected[key].event_types[0]}[kind] in reason, f"{key} on {dlq}: reason {reason!r}"
            # the original bytes; a record over the limit keeps its first DLQ_MAX_VALUE_BYTES and says so
            original = values[key]
            if len(original) > DLQ_MAX_VALUE_BYTES:
                assert (record.value, headers.get("dlq.truncated_from")) == \
                    (original[:DLQ_MAX_VALUE_BYTES], str(len(original))), f"{key} on {dlq}: not the original bytes"
            else:
                assert record.value == original, f"{key} on {dlq}: not the original bytes"
