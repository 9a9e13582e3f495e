"""The AsyncAPI document: current with the code, complete, and valid for the official parser."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from services.matching.events import INPUTS
from shared import topics
from shared.asyncapi import document, render
from shared.events import registry

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "asyncapi.yaml"
VALIDATOR = ROOT / "tools" / "asyncapi-validate"


def test_committed_document_is_current():
    assert DOC.read_text() == render(), "docs/asyncapi.yaml is stale: run `make asyncapi`"


def test_every_event_type_has_a_message_and_schema():
    doc = document()
    assert doc["asyncapi"].startswith("3.")
    names = {m["name"] for m in doc["components"]["messages"].values()}
    assert names == set(registry()) | {"dead_letter"}
    for model in registry().values():
        assert model.__name__ in doc["components"]["schemas"]


def test_every_topic_is_a_channel_with_its_kafka_binding_and_messages():
    channels = document()["channels"]
    assert set(channels) == {spec.name for spec in topics.ALL} | {"matching-work"}
    work = channels["matching-work"]
    assert work["bindings"]["kafka"]["partitions"] == 1
    assert set(work["messages"]) == {t.replace(".", "_") for spec in INPUTS for t in spec.event_types}
    assert len(work["messages"]) == 24
    assert channels["participants"]["bindings"]["kafka"]["topicConfiguration"] == {
        "cleanup.policy": ["compact"], "min.compaction.lag.ms": 60000}
    assert channels["matching.dlq"]["messages"] == {"dead_letter": {"$ref": "#/components/messages/dead_letter"}}
    assert {name for name, c in channels.items() if c["tags"] == [{"name": "public"}]} == {
        "sessions", "matches", "consortia", "agendas"}


def test_subscribers_receive_only_public_topics_with_the_security_scheme():
    doc = document()
    received = {op["channel"]["$ref"].rsplit("/", 1)[-1]
                for op in doc["operations"].values() if op["action"] == "receive"}
    assert received == {spec.name for spec in topics.PUBLIC}
    assert doc["components"]["securitySchemes"]["scram"]["type"] == "scramSha512"


@pytest.fixture(scope="module")
def asyncapi_parser() -> Path:
    """The official parser from the npm registry, installed by its lock file when missing or stale."""
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node and npm, "Node.js and npm are needed to validate docs/asyncapi.yaml with @asyncapi/parser"
    installed = VALIDATOR / "node_modules" / ".package-lock.json"
    lock = VALIDATOR / "package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        subprocess.run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"], cwd=VALIDATOR,
                       check=True, timeout=600)
    return VALIDATOR / "validate.mjs"


def _diagnostics(validator: Path, path: Path) -> tuple[int, list[dict]]:
    run = subprocess.run(["node", str(validator), str(path)], capture_output=True, text=True, timeout=120)
    assert not run.stderr, run.stderr
    return run.returncode, [json.loads(line) for line in run.stdout.splitlines()]


def test_the_official_parser_finds_nothing_to_report(asyncapi_parser: Path):
    assert _diagnostics(asyncapi_parser, DOC) == (0, [])


def test_the_official_parser_reports_an_invalid_binding(asyncapi_parser: Path, tmp_path: Path):
    broken = tmp_path / "asyncapi.yaml"
    broken.write_text(DOC.read_text().replace("partitions: 1\n", "partitions: 0\n", 1))
    returncode, found = _diagnostics(asyncapi_parser, broken)
    assert returncode == 1
    assert {(d["severity"], d["path"]) for d in found if "partitions" in d["message"]} == {
        (0, "channels.alerts.bindings.kafka.partitions")}
