"""Public topics carry nothing a third party must not see: every public event type's JSON schema is
walked (nested models included) for fields of contact details, private amounts and secrets."""

from __future__ import annotations

import re
from pathlib import Path
from collections.abc import Iterator
from typing import Any

import pytest

from shared import topics
from shared.events import registry

FORBIDDEN = {
    "a contact detail": re.compile(r"e_?mail|phone|mobile|telephone|^tel$|fax|wechat|webhook|contact|address|_url$"),
    "a private amount": re.compile(r"amount|price|budget|ticket|cost|fee|salary|revenue|valuation|money"),
    "a secret": re.compile(r"secret|password|passwd|token|api_?key|credential|signature|private"),
}
MONEY_TYPES = {"MoneyRange"}  # an amount by type, whatever its field is called


def _fields(schema: dict[str, Any], defs: dict[str, Any], path: str,
            seen: frozenset[str]) -> Iterator[tuple[str, dict[str, Any], str | None]]:
    """Every schema node reachable from ``schema`` as (path, node, name of the model it refers to),
    following each $ref once per branch; ``[]`` in a path stands for a list's or map's items."""
    ref = schema["$ref"].rsplit("/", 1)[-1] if "$ref" in schema else None
    yield path, schema, ref
    if ref is not None and ref not in seen:
        yield from _fields(defs[ref], defs, path, seen | {ref})
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            yield from _fields(sub, defs, path, seen)
    for sub in [*schema.get("prefixItems", []), schema.get("items"), schema.get("additionalProperties")]:
        if isinstance(sub, dict):
            yield from _fields(sub, defs, f"{path}[]", seen)
    for name, sub in schema.get("properties", {}).items():
        yield from _fields(sub, defs, f"{path}.{name}", seen)


def violations(type_name: str) -> list[str]:
    """What the data schema of ``type_name`` carries that a public event must not, one line each."""
    schema = registry()[type_name].model_json_schema()
    found: dict[str, None] = {}  # ordered, and a field reached through several branches counts once
    for path, node, ref in _fields(schema, schema.get("$defs", {}), "data", frozenset()):
        name = path.rsplit(".", 1)[-1].removesuffix("[]").lower()
        if ref in MONEY_TYPES:
            found[f"{type_name}: {path} is a private amount (a {ref})"] = None
        if node.get("format") == "email":
            found[f"{type_name}: {path} is a contact detail (format email)"] = None
        for what, pattern in FORBIDDEN.items():
            if pattern.search(name):
                found[f"{type_name}: {path} looks like {what}"] = None
    return list(found)


PUBLIC_TYPES = sorted(t for spec in topics.PUBLIC for t in spec.event_types)


def test_the_public_topics_are_the_documented_ones():
    assert [spec.name for spec in topics.PUBLIC] == ["sessions", "matches", "consortia", "agendas"]


@pytest.mark.parametrize("type_name", PUBLIC_TYPES)
def test_public_event_types_carry_no_contact_details_amounts_or_secrets(type_name: str):
    assert violations(type_name) == []


def test_the_walk_finds_what_keeps_the_internal_topics_internal():
    assert violations("participant.registered.v1") == [
        "participant.registered.v1: data.email looks like a contact detail",
        "participant.registered.v1: data.webhook_url looks like a contact detail",
    ]
    assert violations("listing.created.v1") == [
        "listing.created.v1: data.amount looks like a private amount",
        "listing.created.v1: data.amount is a private amount (a MoneyRange)",
    ]



def test_the_walk_reaches_fields_of_nested_models_and_lists():
    schema = registry()["session.registration_closed.v1"].model_json_schema()
    paths = {path for path, _, _ in _fields(schema, schema["$defs"], "data", frozenset())}
    assert {"data.session.capacity.presenters", "data.session.quotas[]", "data.registrants[].participant_id",
            "data.meeting_requests[].target_id"} <= paths


def test_the_subscribers_guide_lists_exactly_the_public_topics_and_their_types():
    guide = (Path(__file__).resolve().parents[3] / "docs" / "subscribers.md").read_text()
    english = guide.split("## 中文")[0]
    rows = [line.split("|")[1:-1] for line in english.splitlines() if line.startswith("| `")]
    listed = {row[0].strip(" `"): re.findall(r"`([a-z_.0-9]+)`", row[3]) for row in rows}
    assert listed == {spec.name: list(spec.event_types) for spec in topics.PUBLIC}
