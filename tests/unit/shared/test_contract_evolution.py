"""The event contract evolves compatibly (docs/event-evolution.md): against the last released
AsyncAPI document (docs/asyncapi.released.yaml), no released event type, channel or field is gone, no
field changed its type, and no field became required. New event types, channels and optional fields
are compatible."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from shared.asyncapi import document

RELEASED = Path(__file__).resolve().parents[3] / "docs" / "asyncapi.released.yaml"
ENVELOPE = "CloudEventEnvelope"


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def _resolve(schema: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _kinds(schema: dict[str, Any], doc: dict[str, Any]) -> set[str]:
    """The JSON types a value of ``schema`` may have (a union's members together)."""
    schema = _resolve(schema, doc)
    members = schema.get("anyOf") or schema.get("oneOf")
    if members:
        return set().union(*(_kinds(m, doc) for m in members))
    if "const" in schema:
        return {f"const {schema['const']!r}"}
    kind = schema.get("type")
    if kind is None:
        return {"enum"} if "enum" in schema else {"any"}
    return set(kind) if isinstance(kind, list) else {kind}


def _object_of(schema: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any] | None:
    """The object schema of ``schema``, or of the one non-null member of its union."""
    schema = _resolve(schema, doc)
    members = [m for m in schema.get("anyOf", []) if _resolve(m, doc).get("type") != "null"]
    if len(members) == 1:
        schema = _resolve(members[0], doc)
    return schema if "properties" in schema else None


def _items_of(schema: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any] | None:
    schema = _resolve(schema, doc)
    members = [m for m in schema.get("anyOf", []) if _resolve(m, doc).get("type") != "null"]
    if len(members) == 1:
        schema = _resolve(members[0], doc)
    return schema.get("items") if isinstance(schema.get("items"), dict) else None


def schema_breaks(old: dict[str, Any], old_doc: dict[str, Any], new: dict[str, Any], new_doc: dict[str, Any],
                  path: str) -> list[str]:
    """The incompatible changes from ``old`` to ``new``, one line each."""
    if _kinds(old, old_doc) != _kinds(new, new_doc):
        return [f"{path}: type changed from {sorted(_kinds(old, old_doc))} to {sorted(_kinds(new, new_doc))}"]
    breaks = []
    old_object, new_object = _object_of(old, old_doc), _object_of(new, new_doc)
    if old_object is not None and new_object is not None:
        for name, sub in old_object["properties"].items():
            if name not in new_object["properties"]:
                breaks.append(f"{path}.{name}: removed")
            else:
                breaks.extend(schema_breaks(sub, old_doc, new_object["properties"][name], new_doc, f"{path}.{name}"))
        for name in sorted(set(new_object.get("required", [])) - set(old_object.get("required", []))):
            breaks.append(f"{path}.{name}: now required")
    old_items, new_items = _items_of(old, old_doc), _items_of(new, new_doc)
    if old_items is not None and new_items is not None:
        breaks.extend(schema_breaks(old_items, old_doc, new_items, new_doc, f"{path}[]"))
    return breaks


def _data_schema(message: dict[str, Any]) -> dict[str, Any]:
    return message["payload"]["allOf"][1]["properties"]["data"]


def contract_breaks(released: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Every incompatible change of ``current`` against ``released``, one line each."""
    breaks = []
    for name, channel in released["channels"].items():
        if name not in current["channels"]:
            breaks.append(f"channel {name}: removed")
            continue
        for message in channel["messages"]:
            if message not in current["channels"][name]["messages"]:
                breaks.append(f"channel {name}: message {message} removed")
    for name, message in released["components"]["messages"].items():
        if name not in current["components"]["messages"]:
            breaks.append(f"{message['name']}: removed")
            continue
        if "allOf" in message["payload"]:
            now = current["components"]["messages"][name]
            breaks.extend(schema_breaks(_data_schema(message), released, _data_schema(now), current,
                                        f"{message['name']}: data"))
    envelope = {"$ref": f"#/components/schemas/{ENVELOPE}"}
    breaks.extend(schema_breaks(envelope, released, envelope, current, "envelope"))
    if _version(current["info"]["version"]) < _version(released["info"]["version"]):
        breaks.append(f"version {current['info']['version']} is below the released {released['info']['version']}")
    return breaks


def _released() -> dict[str, Any]:
    return yaml.safe_load(RELEASED.read_text())


def test_the_current_contract_is_compatible_with_the_last_release():
    assert contract_breaks(_released(), document()) == []


def test_the_current_contract_is_a_later_version_when_it_differs():
    released, current = _released(), document()
    assert released != current and _version(current["info"]["version"]) > _version(released["info"]["version"])


def _changed(edit) -> list[str]:
    current = document()
    changed = copy.deepcopy(current)
    edit(changed["components"])
    return contract_breaks(current, changed)


def test_removed_fields_changed_types_new_required_fields_and_removed_types_are_caught():
    def remove_field(components):
        del components["schemas"]["MatchSide"]["properties"]["title"]

    def change_type(components):
        components["schemas"]["MatchData"]["properties"]["score"] = {"type": "string"}

    def require_field(components):
        components["schemas"]["ParticipantData"]["required"].append("email")

    def remove_type(components):
        del components["messages"]["agenda_updated_v1"]

    assert _changed(remove_field) == [
        f"match.{verb}.v1: data.{side}.title: removed"
        for verb in ("created", "retracted", "updated") for side in ("offer", "need")]
    assert _changed(change_type) == [f"match.{verb}.v1: data.score: type changed from ['number'] to ['string']"
                                     for verb in ("created", "updated")]
    assert _changed(require_field) == [f"participant.{verb}.v1: data.email: now required"
                                       for verb in ("organiser_granted", "organiser_revoked", "registered", "updated")]
    assert _changed(remove_type) == ["agenda.updated.v1: removed"]


def test_new_optional_fields_and_new_types_are_compatible():
    def add_optional_field(components):
        components["schemas"]["MatchData"]["properties"]["rank"] = {"type": "integer"}
        components["messages"]["match_created_v2"] = components["messages"]["match_created_v1"]

    assert _changed(add_optional_field) == []
