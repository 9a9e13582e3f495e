"""Every integer a client or a producer can send is bounded to what JSON clients read exactly
and the store holds: request bodies and parameters of every service, and every event schema."""

from __future__ import annotations

from typing import Any

import pytest

from services.events_sessions.app import create_app as events_sessions_app
from services.listing.app import create_app as listing_app
from services.matching.app import create_app as matching_app
from services.monitor.app import create_app as monitor_app
from services.notification.app import create_app as notification_app
from shared.events import registry
from shared.events.common import MAX_INT


def _unbounded_integers(schema: Any, definitions: dict[str, Any], path: str, seen: set[str]) -> list[str]:
    """Paths of the integers in ``schema`` not bounded to [-MAX_INT, MAX_INT]."""
    if isinstance(schema, list):
        return [p for i, item in enumerate(schema) for p in _unbounded_integers(item, definitions, path, seen)]
    if not isinstance(schema, dict):
        return []
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return []
        return _unbounded_integers(definitions[name], definitions, f"{path}>{name}", seen | {name})
    found = []
    if schema.get("type") == "integer":
        maximum = schema.get("maximum", schema.get("exclusiveMaximum"))
        minimum = schema.get("minimum", schema.get("exclusiveMinimum"))
        if maximum is None or maximum > MAX_INT + 1 or minimum is None or minimum < -MAX_INT - 1:
            found.append(path)
    for key, value in schema.items():
        if key in ("properties", "$defs"):
            for name, sub in value.items():
                found += _unbounded_integers(sub, definitions, f"{path}.{name}", seen)
        elif isinstance(value, dict | list):
            found += _unbounded_integers(value, definitions, f"{path}.{key}" if key not in (
                "items", "anyOf", "oneOf", "allOf", "additionalProperties") else path, seen)
    return found


@pytest.mark.parametrize("create_app", [listing_app, events_sessions_app, matching_app, notification_app,
                                        monitor_app])
def test_every_integer_of_a_request_is_bounded(create_app):
    spec = create_app().openapi()
    definitions = spec.get("components", {}).get("schemas", {})
    unbounded = []
    for route, operations in spec["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {route}"
            for parameter in operation.get("parameters", []):
                unbounded += _unbounded_integers(parameter.get("schema"), definitions,
                                                 f"{where} {parameter['name']}", set())
            for content in operation.get("requestBody", {}).get("content", {}).values():
                unbounded += _unbounded_integers(content.get("schema"), definitions, f"{where} body", set())
    assert unbounded == []


def test_every_integer_of_an_event_is_bounded():
    unbounded = []
    for type_name, model in registry().items():
        schema = model.model_json_schema()
        unbounded += _unbounded_integers(schema, schema.get("$defs", {}), type_name, set())
    assert unbounded == []
