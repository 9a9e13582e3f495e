"""Authenticated, authorised Kafka on the real broker (SASL/SCRAM-SHA-512, StandardAuthorizer): a
subscriber made by `hardtech subscriber add` reads the public topics it was given and nothing
else, and after `revoke` cannot connect; each service's principal reads and writes its own topics
and uses its own consumer groups only."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    TopicAuthorizationFailedError,
)
from typer.testing import CliRunner

from hardtech import kafka_access
from hardtech.infra import kafka as local_kafka
from hardtech.main import app as cli
from shared import topics
from shared.kafka import Producer
from shared.settings import CommonSettings, dev_kafka_password
from tests.unit.notification.samples import match_created

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "subscriber.py"


@pytest.fixture
def secured(registry_topics: CommonSettings) -> CommonSettings:
    """This test's namespace on a broker that requires SASL (the local one always does)."""
    if not registry_topics.kafka_sasl:
        pytest.skip(f"the broker at {registry_topics.kafka_bootstrap_servers} of this run takes PLAINTEXT")
    return registry_topics


def _as(settings: CommonSettings, username: str, password: str) -> dict[str, Any]:
    return {**settings.kafka_client_options(), "sasl_plain_username": username, "sasl_plain_password": password}


async def _read(settings: CommonSettings, credentials: dict[str, Any], topic: str, group: str) -> list[str]:
    """The keys of what ``topic`` holds, read in consumer group ``group`` (raises what the broker refuses)."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=settings.kafka_bootstrap_servers, group_id=group,
                                auto_offset_reset="earliest", enable_auto_commit=False, **credentials)
    keys: list[str] = []
    try:
        await consumer.start()
        for _ in range(20):
            batch = await asyncio.wait_for(consumer.getmany(timeout_ms=500), 30)
            keys += [r.key.decode() for records in batch.values() for r in records]
            if keys:
                break
        await consumer.commit()
    finally:
        await consumer.stop()
    return keys


async def _write(settings: CommonSettings, credentials: dict[str, Any], topic: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, **credentials)
    try:
        await producer.start()
        await asyncio.wait_for(producer.send_and_wait(topic, b"forged", key=b"k"), 30)
    finally:
        await producer.stop()


def _example_subjects(environment: dict[str, str], prefix: str, group: str, tmp_path: Path) -> list[str]:
    """The subjects of what examples/subscriber.py reads from ``matches`` with ``environment``'s credentials."""
    example = subprocess.run(
        [sys.executable, str(EXAMPLE), "--topic-prefix", prefix, "--topics", "matches", "--group", group,
         "--seen", str(tmp_path / "seen.db"), "--from-beginning", "--until-end"],
        capture_output=True, text=True, timeout=120, env={**os.environ, **environment})
    assert example.returncode == 0, example.stderr
    return [json.loads(line)["subject"] for line in example.stdout.splitlines()]


async def _one_match(settings: CommonSettings) -> str:
    event = match_created(match_id=f"m_{uuid.uuid4().hex[:6]}")
    producer = Producer(settings, client_id="test")
    try:
        await producer.send_event(topics.MATCHES.full_name(settings.topic_prefix), event, key=event.subject)
    finally:
        await producer.stop()
    return event.subject


async def test_a_subscriber_reads_matches_and_cannot_write_listings_or_read_internal_topics(
        secured: CommonSettings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        tmp_path: Path) -> None:
    settings = secured
    match = await _one_match(settings)
    name = f"sub-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("HARDTECH_TOPIC_PREFIX", settings.topic_prefix)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", settings.kafka_bootstrap_servers)
    added = CliRunner().invoke(cli, ["subscriber", "add", name, "--topics", "matches,consortia"])
    assert added.exit_code == 0, added.output
    given = dict(line.split("=", 1) for line in added.stdout.splitlines())
    assert given["KAFKA_SASL_USERNAME"] == name
    subscriber = _as(settings, name, given["KAFKA_SASL_PASSWORD"])
    name_of = {spec.name: spec.full_name(settings.topic_prefix) for spec in topics.ALL}
    try:
        assert await _read(settings, subscriber, name_of["matches"], f"{name}.stats") == [match]
        # The guide's way: the example subscriber with what the command printed in its environment.
        assert _example_subjects(given, settings.topic_prefix, f"{name}.example", tmp_path) == [match]
        with pytest.raises(TopicAuthorizationFailedError):
            await _write(settings, subscriber, name_of["listings"])
        with pytest.raises(TopicAuthorizationFailedError):
            await _write(settings, subscriber, name_of["matches"])  # read access only
        for internal in ("participants", "listings", "match-feedback", "deals", "matching.dlq"):
            with pytest.raises(TopicAuthorizationFailedError):
                await _read(settings, subscriber, name_of[internal], f"{name}.stats")
        with pytest.raises(TopicAuthorizationFailedError):  # public, but not chosen for this subscriber
            await _read(settings, subscriber, name_of["agendas"], f"{name}.stats")
        with pytest.raises(GroupAuthorizationFailedError):  # a group outside its own prefix
            await _read(settings, subscriber, name_of["matches"], "notification")
    finally:
        revoked = CliRunner().invoke(cli, ["subscriber", "revoke", name])
    assert revoked.exit_code == 0, revoked.output
    with pytest.raises(KafkaConnectionError):  # its credential is gone: the broker refuses the connection
        await _read(settings, subscriber, name_of["matches"], f"{name}.stats")
    assert "SaslAuthenticationFailed" in caplog.text


def test_the_subscriber_command_refuses_internal_topics_and_unknown_subscribers_in_one_line(
        secured: CommonSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARDTECH_TOPIC_PREFIX", secured.topic_prefix)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", secured.kafka_bootstrap_servers)
    refused = CliRunner().invoke(cli, ["subscriber", "add", "acme-stats", "--topics", "matches,listings"])
    assert (refused.exit_code, refused.stderr) == (
        1, "error: not public topics: listings; public topics: sessions, matches, consortia, agendas\n")
    unknown = CliRunner().invoke(cli, ["subscriber", "revoke", f"nobody-{uuid.uuid4().hex[:6]}"])
    assert unknown.exit_code == 1
    assert unknown.stderr.startswith("error: no subscriber nobody-")


async def test_a_service_principal_uses_its_own_topics_and_groups_only(
        secured: CommonSettings, caplog: pytest.LogCaptureFixture) -> None:
    settings = secured
    assert kafka_access.provision_services(settings) > 0
    match = await _one_match(settings)
    prefix = settings.topic_prefix
    notification, listing, deals, sessions = (_as(settings, s, dev_kafka_password(s))
                                              for s in ("notification", "listing", "deals", "events_sessions"))

    assert await _read(settings, notification, f"{prefix}matches", f"{prefix}notification") == [match]
    with pytest.raises(GroupAuthorizationFailedError):  # the deals service's group
        await _read(settings, notification, f"{prefix}matches", f"{prefix}deals")
    with pytest.raises(GroupAuthorizationFailedError):  # and the other way round
        await _read(settings, deals, f"{prefix}matches", f"{prefix}notification")
    with pytest.raises(TopicAuthorizationFailedError):  # the matching service writes matches, not listing
        await _write(settings, listing, f"{prefix}matches")
    await _write(settings, listing, f"{prefix}listings")
    with pytest.raises(TopicAuthorizationFailedError):  # contact details: notification reads them, sessions do not
        await _read(settings, sessions, f"{prefix}participants", f"{prefix}events_sessions")
    with pytest.raises(KafkaConnectionError):  # a wrong password
        await _read(settings, _as(settings, "listing", "not-its-password"), f"{prefix}listings", f"{prefix}x")
    assert "SaslAuthenticationFailed" in caplog.text


async def test_sasl_over_tls_with_the_local_brokers_self_signed_ca(
        secured: CommonSettings, caplog: pytest.LogCaptureFixture) -> None:
    """The settings a deployment's cluster asks for (SASL_SSL and its CA), on the local broker's TLS listener."""
    if secured.kafka_bootstrap_servers != local_kafka.bootstrap() or not local_kafka.CA_FILE.exists():
        pytest.skip(f"the broker of this run is not the local one with its TLS listener ({local_kafka.bootstrap()})")
    tls = secured.model_copy(update={"kafka_bootstrap_servers": local_kafka.tls_bootstrap(),
                                     "kafka_security_protocol": "SASL_SSL", "kafka_ssl_cafile": str(local_kafka.CA_FILE)})
    prefix = tls.topic_prefix
    match = await _one_match(tls)
    assert await _read(tls, tls.kafka_client_options(), f"{prefix}matches", f"{prefix}tls") == [match]
    untrusting = tls.model_copy(update={"kafka_ssl_cafile": None})  # the system's CAs only
    with pytest.raises(KafkaConnectionError):
        await _read(untrusting, untrusting.kafka_client_options(), f"{prefix}matches", f"{prefix}tls")
    assert "CERTIFICATE_VERIFY_FAILED" in caplog.text
