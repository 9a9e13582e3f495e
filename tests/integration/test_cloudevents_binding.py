"""Records the project produces are CloudEvents by the Kafka protocol binding, as the official
SDK reads them: the shared producer's and the outbox relay's (the matching worker's are checked
in tests/integration/matching/test_worker.py)."""

from __future__ import annotations

import json

import pytest

from shared import outbox, topics
from shared.kafka import Producer
from shared.locks import KeyedLocks
from shared.mongo import make_client
from shared.settings import CommonSettings
from tests.integration.test_outbox_and_consumer import _alert
from tests.support import read_by_binding, read_records

pytestmark = pytest.mark.integration


async def test_producer_sends_structured_mode_with_partitionkey_where_the_key_is_not_the_subject(
        registry_topics: CommonSettings):
    settings = registry_topics
    alerts = topics.ALERTS.full_name(settings.topic_prefix)
    by_subject, by_other_key = _alert(1), _alert(2)  # both have the subject "a1"
    producer = Producer(settings, client_id="test")
    try:
        await producer.send_event(alerts, by_subject, key="a1")
        await producer.send_event(alerts, by_other_key, key="rule-lag")
    finally:
        await producer.stop()

    first, second = await read_records(settings.kafka_bootstrap_servers, alerts, count=2)
    events = [read_by_binding(first), read_by_binding(second)]
    assert [e.get_id() for e in events] == [by_subject.id, by_other_key.id]
    assert [e.get_type() for e in events] == ["alert.raised.v1", "alert.raised.v1"]
    assert [e.get_subject() for e in events] == ["a1", "a1"]
    assert [e.get_extension("partitionkey") for e in events] == ["a1", "rule-lag"]
    assert [e.get_data()["value"] for e in events] == [1, 2]
    # In the envelope itself the extension appears only where the key is not the subject.
    assert "partitionkey" not in json.loads(first.value)
    assert json.loads(second.value)["partitionkey"] == "rule-lag"


async def test_outbox_relay_sends_structured_mode(registry_topics: CommonSettings, namespace):
    settings = registry_topics
    staged = [outbox.entry(_alert(1), topics.ALERTS, "a1"), outbox.entry(_alert(2), topics.ALERTS, "group-7")]
    mongo = make_client(settings.mongodb_uri)
    producer = Producer(settings, client_id="test")
    collection = mongo[f"{namespace}db"]["entities"]
    try:
        await collection.insert_one(outbox.with_outbox({"_id": "e1"}, *staged))
        relay = outbox.OutboxRelay([collection], producer, topic_prefix=settings.topic_prefix, locks=KeyedLocks())
        while await relay.drain_once():
            pass
    finally:
        await producer.stop()
        await mongo.close()

    records = await read_records(settings.kafka_bootstrap_servers, topics.ALERTS.full_name(settings.topic_prefix),
                                 count=2)
    events = [read_by_binding(r) for r in records]
    assert [e.get_id() for e in events] == [e["id"] for e in staged]
    assert [e.get_extension("partitionkey") for e in events] == ["a1", "group-7"]
    assert [json.loads(r.value).get("partitionkey") for r in records] == [None, "group-7"]
