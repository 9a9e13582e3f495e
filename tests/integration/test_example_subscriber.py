"""examples/subscriber.py against the real broker: real records of public topics in, each event id
out exactly once, through redelivery, resumption from the committed offsets and a replay."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shared import topics
from shared.kafka import Producer
from shared.settings import CommonSettings
from tests.unit.notification.samples import consortium, match_created

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "subscriber.py"


def _subscribe(settings: CommonSettings, group: str, seen: Path) -> tuple[list[dict], str]:
    """Run the example until it has read what the topics hold; the events it handled, and its stderr.
    On a broker that requires SASL it connects as the run's principal (a subscriber's own principal:
    tests/integration/test_kafka_access.py)."""
    security = ["--security-protocol", settings.kafka_security_protocol]
    if settings.kafka_sasl:
        security += ["--sasl-mechanism", settings.kafka_sasl_mechanism, "--username", settings.kafka_principal()]
    run = subprocess.run(
        [sys.executable, str(EXAMPLE), "--bootstrap-servers", settings.kafka_bootstrap_servers, *security,
         "--topic-prefix", settings.topic_prefix, "--topics", "matches,consortia",
         "--group", f"{settings.topic_prefix}{group}", "--seen", str(seen), "--from-beginning", "--until-end"],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "KAFKA_SASL_PASSWORD": settings.kafka_password() or ""})
    assert run.returncode == 0, run.stderr
    return [json.loads(line) for line in run.stdout.splitlines()], run.stderr


async def test_the_example_subscriber_handles_every_event_once_resumes_and_replays(
        registry_topics: CommonSettings, tmp_path: Path):
    settings = registry_topics
    matches, consortia = (spec.full_name(settings.topic_prefix) for spec in (topics.MATCHES, topics.CONSORTIA))
    first = [match_created(match_id=f"m_{n}") for n in range(3)]
    team = consortium()
    producer = Producer(settings, client_id="test")
    try:
        for event in first:
            await producer.send_event(matches, event, key=event.subject)
        await producer.send_event(matches, first[0], key=first[0].subject)  # redelivered: handled once
        await producer.send(matches, b"not an event", key="m_0")  # no CloudEvents header: skipped
        await producer.send_event(consortia, team, key=team.subject)

        handled, stderr = _subscribe(settings, "stats", tmp_path / "seen.db")
        assert sorted(e["id"] for e in handled) == sorted([*(e.id for e in first), team.id])
        assert {(e["type"], e["subject"], e["key"]) for e in handled} == {
            *(("match.created.v1", e.subject, e.subject) for e in first),
            ("consortium.proposed.v1", team.subject, team.subject)}
        assert stderr.count("not a structured CloudEvent") == 1

        later = match_created(match_id="m_9")
        await producer.send_event(matches, later, key=later.subject)
    finally:
        await producer.stop()

    resumed, _ = _subscribe(settings, "stats", tmp_path / "seen.db")  # from the group's committed offsets
    assert [e["id"] for e in resumed] == [later.id]
    replayed_by_known_ids, _ = _subscribe(settings, "stats-replay", tmp_path / "seen.db")
    assert replayed_by_known_ids == []
    replayed, _ = _subscribe(settings, "stats-replay-fresh", tmp_path / "fresh.db")
    assert sorted(e["id"] for e in replayed) == sorted([*(e.id for e in first), team.id, later.id])


def test_a_secured_connection_without_a_principal_is_a_one_line_error(tmp_path: Path):
    without_principal = {k: v for k, v in os.environ.items() if not k.startswith("KAFKA_SASL")}
    run = subprocess.run([sys.executable, str(EXAMPLE), "--group", "g", "--security-protocol", "SASL_SSL"],
                         capture_output=True, text=True, timeout=60, env=without_principal)
    assert run.returncode == 2
    assert run.stderr.splitlines()[-1] == ("subscriber.py: error: --username is required with "
                                           "--security-protocol SASL_SSL")
