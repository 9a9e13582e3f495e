"""The AsyncAPI 3 document, generated from the topic registry and the event models.

``hardtech asyncapi`` writes it to docs/asyncapi.yaml; tests fail when that file is stale, when the
official parser (``@asyncapi/parser``) finds an error in it, and when it changes an event type of
the last released document (docs/asyncapi.released.yaml) incompatibly (docs/event-evolution.md).
"""

from __future__ import annotations

from typing import Any

import yaml

from shared import topics
from shared.events import registry
from shared.events.envelope import STRUCTURED_CONTENT_TYPE, CloudEvent
from shared.kafka import DLQ_REASON

# The version of the contract as a whole: minor for compatible additions (docs/event-evolution.md).
CONTRACT_VERSION = "1.1.0"
KAFKA_BINDING_VERSION = "0.5.0"
ENVELOPE_FIELDS = ("specversion", "id", "source", "type", "subject", "time", "datacontenttype", "partitionkey")
DEAD_LETTER_MESSAGE = "dead_letter"


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


def _kafka_key(description: str) -> dict[str, Any]:
    return {"kafka": {"key": {"type": "string", "description": description}, "bindingVersion": KAFKA_BINDING_VERSION}}


def _event_message(type_name: str, model_name: str) -> dict[str, Any]:
    return {
        "name": type_name,
        "title": type_name,
        "contentType": STRUCTURED_CONTENT_TYPE,
        "headers": {"type": "object", "required": ["content-type"], "properties": {
            "content-type": {"const": STRUCTURED_CONTENT_TYPE,
                             "description": "CloudEvents Kafka binding, structured mode"},
        }},
        "payload": {"allOf": [
            {"$ref": "#/components/schemas/CloudEventEnvelope"},
            {"type": "object", "required": ["data"], "properties": {
                "type": {"const": type_name},
                "data": {"$ref": f"#/components/schemas/{model_name}"},
            }},
        ]},
        "bindings": _kafka_key("The topic's key (see the channel); also the partitionkey extension "
                               "where it is not the subject"),
    }


def _dead_letter_message() -> dict[str, Any]:
    reason = {"type": "string"}
    return {
        "name": DEAD_LETTER_MESSAGE,
        "title": "dead letter",
        "summary": "The bytes of a record a consumer could not process, as they came: not an event",
        "contentType": "application/octet-stream",
        "headers": {"type": "object", "required": [DLQ_REASON], "properties": {
            DLQ_REASON: {**reason, "description": "Why the record could not be processed"},
            "dlq.consumer": {**reason, "description": "The consumer that gave up on it"},
            "dlq.topic": {**reason, "description": "Where it was read"},
            "dlq.partition": {**reason, "description": "Its partition there"},
            "dlq.offset": {**reason, "description": "Its offset there"},
            "dlq.truncated_from": {**reason, "description": "Its size, when the value was cut"},
        }},
        "payload": {"type": "string", "format": "binary"},
        "bindings": _kafka_key("The original record's key"),
    }


def _topic_configuration(spec: topics.TopicSpec) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for name, value in sorted(spec.config.items()):
        config[name] = value.split(",") if name == "cleanup.policy" else int(value) if value.isdigit() else value
    return config


def _channel(spec: topics.TopicSpec) -> dict[str, Any]:
    names = [_message_name(t) for t in spec.event_types] or ([DEAD_LETTER_MESSAGE] if spec.dead_letter else [])
    audience = "Public: subscribers may read it." if spec.public else "Internal: the services' own."
    return {
        "address": spec.name,
        "title": spec.name,
        "description": f"{spec.description}. Key: {spec.key}. {audience}",
        "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in names},
        "tags": [{"name": "public" if spec.public else "internal"}],
        "bindings": {"kafka": {"topic": spec.name, "partitions": spec.partitions,
                               "topicConfiguration": _topic_configuration(spec),
                               "bindingVersion": KAFKA_BINDING_VERSION}},
    }


def _operations() -> dict[str, Any]:
    """What the project sends on each topic, and what a subscriber receives from a public one."""
    operations: dict[str, Any] = {}
    for spec in topics.DOCUMENTED:
        channel = {"$ref": f"#/channels/{spec.name}"}
        messages = [{"$ref": f"#/channels/{spec.name}/messages/{name}"} for name in _channel(spec)["messages"]]
        operations[f"send-{spec.name}"] = {"action": "send", "channel": channel, "messages": messages,
                                           "summary": f"The services write {spec.name}"}
        if spec.public:
            operations[f"receive-{spec.name}"] = {
                "action": "receive", "channel": channel, "messages": messages,
                "summary": f"A subscriber reads {spec.name} (docs/subscribers.md)",
                "security": [{"$ref": "#/components/securitySchemes/scram"}],
                "bindings": {"kafka": {
                    "groupId": {"type": "string", "description": "A consumer group under the subscriber's own prefix"},
                    "bindingVersion": KAFKA_BINDING_VERSION}},
            }
    return operations


def document() -> dict[str, Any]:
    schemas, envelope = _schemas()
    schemas["CloudEventEnvelope"] = envelope
    messages = {_message_name(t): _event_message(t, model.__name__) for t, model in sorted(registry().items())}
    messages[DEAD_LETTER_MESSAGE] = _dead_letter_message()
    return {
        "asyncapi": "3.1.0",
        "info": {
            "title": "Hard-Tech Express events",
            "version": CONTRACT_VERSION,
            "description": "CloudEvents 1.0 on Apache Kafka by the Kafka protocol binding, structured mode "
                           "(content-type: application/cloudevents+json). Channels tagged public may be read by "
                           "subscribers (docs/subscribers.md); how event types evolve: docs/event-evolution.md. "
                           "Generated from shared/ — do not edit; run `make asyncapi`. Topic names take the "
                           "HARDTECH_TOPIC_PREFIX. Faust's own changelog and assignor topics of the matching "
                           "worker hold its tables, not events, and are not part of the contract.",
        },
        "defaultContentType": STRUCTURED_CONTENT_TYPE,
        "servers": {
            "local": {"host": "127.0.0.1:9092", "protocol": "kafka",
                      "description": "The local single-node development broker started by `make up`: "
                                     "SASL/SCRAM-SHA-512 without TLS (over TLS on 127.0.0.1:9094, with the CA in "
                                     ".local/kafka/tls/ca.pem); `hardtech subscriber add` makes subscribers",
                      "security": [{"$ref": "#/components/securitySchemes/scram"}]},
            "deployment": {
                "host": "{bootstrap}", "protocol": "kafka-secure",
                "description": "A deployment's cluster: SASL/SCRAM-SHA-512 over TLS, credentials from its operator",
                "variables": {"bootstrap": {"default": "kafka.example.org:9093",
                                            "description": "The deployment's bootstrap servers"}},
                "security": [{"$ref": "#/components/securitySchemes/scram"}],
            },
        },
        "channels": {spec.name: _channel(spec) for spec in topics.DOCUMENTED},
        "operations": _operations(),
        "components": {
            "messages": messages,
            "schemas": schemas,
            "securitySchemes": {"scram": {
                "type": "scramSha512",
                "description": "A principal per service and per subscriber; a subscriber may read only the "
                               "public topics under its own consumer-group prefix.",
            }},
        },
    }


def render() -> str:
    text: str = yaml.safe_dump(document(), sort_keys=False, allow_unicode=True, width=120)
    return text
