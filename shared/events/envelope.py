"""The CloudEvents 1.0 envelope (structured JSON mode) and the registry of event types.

On Kafka every event is a record in the protocol binding's structured mode: the whole envelope is
the value and the ``content-type`` header says so (``STRUCTURED_MODE_HEADERS``), so a consumer
that picks the mode from the headers finds the event. The record key is the partition key; where
it is not the event's subject, the envelope carries it as the ``partitionkey`` extension.

Every event type is versioned in its name (``listing.created.v1``) and bound to exactly one
Pydantic model for its ``data``. ``decode`` turns bytes from Kafka into a validated envelope
or raises ``InvalidEvent`` with a reason that a dead-letter record can carry.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

D = TypeVar("D", bound=BaseModel)
M = TypeVar("M", bound="EventData")

SPEC_VERSION = "1.0"
MAX_EVENT_BYTES = 1024 * 1024
STRUCTURED_CONTENT_TYPE = "application/cloudevents+json"
STRUCTURED_MODE_HEADERS = [("content-type", STRUCTURED_CONTENT_TYPE.encode())]


class EventData(BaseModel):
    """Base of every event payload: unknown fields are an error, so producers cannot drift."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class CloudEvent(BaseModel, Generic[D]):
    model_config = ConfigDict(extra="forbid", frozen=True)

    specversion: str = Field(SPEC_VERSION, pattern=r"^1\.0$")
    id: str = Field(default_factory=lambda: str(uuid.uuid4()), min_length=1, max_length=200)
    source: str = Field(min_length=1, max_length=200, description="The service that emitted it, e.g. /services/listing")
    type: str = Field(min_length=1, max_length=100)
    subject: str | None = Field(None, max_length=200, description="The entity the event is about")
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    datacontenttype: str = "application/json"
    dataschema: str | None = None
    partitionkey: str | None = Field(None, max_length=200,
                                     description="The record key, where it is not the subject (partitioning extension)")
    data: D


class InvalidEvent(Exception):
    """Bytes that are not a valid event of a known type; ``reason`` says why in one line."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


_REGISTRY: dict[str, type[EventData]] = {}


def event_type(name: str) -> Callable[[type[M]], type[M]]:
    """Class decorator that binds an event type name to its data model."""

    def register(model: type[M]) -> type[M]:
        if name in _REGISTRY and _REGISTRY[name] is not model:
            raise ValueError(f"event type {name} registered twice")
        _REGISTRY[name] = model
        model.__event_types__ = (*getattr(model, "__event_types__", ()), name)  # type: ignore[attr-defined]
        return model

    return register


def registry() -> dict[str, type[EventData]]:
    return dict(_REGISTRY)


def data_model(type_name: str) -> type[EventData]:
    try:
        return _REGISTRY[type_name]
    except KeyError:
        raise InvalidEvent(f"unknown event type {type_name!r}") from None


@functools.cache
def envelope_of(model: type[EventData]) -> type[CloudEvent[Any]]:
    """``CloudEvent[model]``, built once: pydantic's own lookup of a parametrised model is slow."""
    return CloudEvent[model]  # type: ignore[valid-type]


def new_event(type_name: str, data: EventData, *, source: str, subject: str | None = None,
              event_id: str | None = None) -> CloudEvent[Any]:
    model = data_model(type_name)
    if not isinstance(data, model):
        raise TypeError(f"{type_name} carries {model.__name__}, not {type(data).__name__}")
    fields: dict[str, Any] = {"source": source, "type": type_name, "subject": subject, "data": data}
    if event_id is not None:
        fields["id"] = event_id
    return envelope_of(model)(**fields)


def keyed(event: CloudEvent[Any], key: str) -> CloudEvent[Any]:
    """``event`` as sent under the record key ``key``: with the ``partitionkey`` extension when
    the key is not its subject, so the grouping survives outside Kafka too."""
    if key == event.subject or key == event.partitionkey:
        return event
    return event.model_copy(update={"partitionkey": key})


def encode(event: CloudEvent[Any]) -> bytes:
    return event.model_dump_json(exclude_none=True).encode()


def decode(raw: bytes | None, *, allowed_types: frozenset[str] | None = None) -> CloudEvent[Any]:
    """Validate bytes from Kafka; raise InvalidEvent naming the first problem."""
    if raw is None:
        raise InvalidEvent("empty message (tombstone)")
    if len(raw) > MAX_EVENT_BYTES:
        raise InvalidEvent(f"message of {len(raw)} bytes exceeds {MAX_EVENT_BYTES}")
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidEvent(f"not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise InvalidEvent("not a JSON object")
    type_name = body.get("type")
    if not isinstance(type_name, str):
        raise InvalidEvent("missing CloudEvents attribute 'type'")
    if allowed_types is not None and type_name not in allowed_types:
        raise InvalidEvent(f"event type {type_name!r} is not expected on this topic")
    model = data_model(type_name)
    try:
        return envelope_of(model).model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidEvent(f"{type_name}: {where}: {first['msg']} ({exc.error_count()} error(s))") from None
