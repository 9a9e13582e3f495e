"""Events of the notification service to itself: notices its delivery worker raises, which the
fan-out consumer (the one writer of every inbox) turns into inbox entries and e-mails."""

from __future__ import annotations

from pydantic import Field

from shared.events.common import MAX_INT
from shared.events.envelope import EventData, event_type


@event_type("webhook.disabled.v1")
class WebhookDisabledData(EventData):
    """A participant's webhook endpoint was switched off after every attempt of a message failed."""

    participant_id: str
    url: str
    attempts: int = Field(ge=1, le=MAX_INT)
    hours: int = Field(ge=0, le=MAX_INT)
    last_error: str
