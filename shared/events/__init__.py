"""Event envelope and every event schema. Importing this package registers all event types."""

from shared.events import deals, listing, matching, monitor, sessions  # noqa: F401  (registers types)
from shared.events.envelope import (
    CloudEvent,
    EventData,
    InvalidEvent,
    decode,
    encode,
    event_type,
    new_event,
    registry,
)

__all__ = ["CloudEvent", "EventData", "InvalidEvent", "decode", "encode", "event_type", "new_event", "registry"]
