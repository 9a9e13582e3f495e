"""The AsyncAPI 3 document, generated from the topic registry and the event models.

``hardtech asyncapi`` writes it to docs/asyncapi.yaml; a test fails when that file is stale."""

from __future__ import annotations

from typing import Any

import yaml

from shared import topics
from shared.events import registry
from shared.events.envelope import CloudEvent

ENVELOPE_FIELDS = ("specversion", "id", "source", "type", "subject", "time", "datacontenttype", "partitionkey")


def _message_name(type_name: str) -> str:
    return type_name.replace(".", "_")


def _schemas() -> tuple[dict[str, Any], dict[str, Any]]:
    """Data schemas by model name, and the CloudEvents envelope schema (without ``data``)."""
    schemas: dict[str, Any] = {}
    for model in sorted(set(registry().values()), key=lambda m: m.__name__):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in schema.pop("$defs", {}).items():
            schemas[name] = sub
        schemas[model.__name__] = schema
    envelope = CloudEvent.model_json_schema()
    properties = {k: v for k, v in envelope["properties"].items() if k in ENVELOPE_FIELDS}
    return schemas, {"type": "object", "properties": properties, "required": ["specversion", "id", "source", "type"]}


def document() -> dict[str, Any]:
    schemas, envelope = _schemas()
    schemas["CloudEventEnvelope"] = envelope
    messages: dict[str, Any] = {}
    for type_name, model in sorted(registry().items()):
        messages[_message_name(type_name)] = {
            "name": type_name,
            "title": type_name,
            "contentType": "application/cloudevents+json",
            "payload": {"allOf": [
                {"$ref": "#/components/schemas/CloudEventEnvelope"},
                {"type": "object", "required": ["data"], "properties": {
                    "type": {"const": type_name},
                    "data": {"$ref": f"#/components/schemas/{model.__name__}"},
                }},
            ]},
        }
    channels: dict[str, Any] = {}
    for spec in topics.ALL:
        channel_messages = {_message_name(t): {"$ref": f"#/components/messages/{_message_name(t)}"}
                            for t in spec.event_types}
        channels[spec.name] = {
            "address": spec.name,
            "description": f"{spec.description}. Key: {spec.key}. Partitions: {spec.partitions}. "
                           f"Config: {', '.join(f'{k}={v}' for k, v in sorted(spec.config.items()))}.",
            "messages": channel_messages,
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Hard-Tech Express events",
            "version": "1.0.0",
            "description": "CloudEvents 1.0 (structured JSON) on Apache Kafka. Generated from shared/ — "
                           "do not edit; run `make asyncapi`. Topic names take the HARDTECH_TOPIC_PREFIX.",
        },
        "defaultContentType": "application/cloudevents+json",
        "servers": {"local": {"host": "127.0.0.1:9092", "protocol": "kafka",
                              "description": "The local single-node broker started by `make up`"}},
        "channels": channels,
        "components": {"messages": messages, "schemas": schemas},
    }


def render() -> str:
    return yaml.safe_dump(document(), sort_keys=False, allow_unicode=True, width=120)
