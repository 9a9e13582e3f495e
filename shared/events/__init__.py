"""Event envelope and every event schema. Importing this package registers all event types."""

from shared.events import deals, listing, matching, monitor, notification, sessions  # noqa: F401  (registers types)
from shared.events.envelope import (
    STRUCTURED_MODE_HEADERS,
    CloudEvent,
    EventData,
    InvalidEvent,
    data_model,
    decode,
    encode,
    event_type,
    keyed,
    new_event,
    registry,
)

__all__ = ["STRUCTURED_MODE_HEADERS", "CloudEvent", "EventData", "InvalidEvent", "data_model", "decode", "encode",
           "event_type", "keyed", "new_event", "registry"]
