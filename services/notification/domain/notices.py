"""What one recipient is told about one event, and the ids that make fan-out idempotent."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

# Operators' alerts go to the channels configured for operators, under this recipient name.
OPERATOR_RECIPIENT = "operator"


class Channel(StrEnum):
    INBOX = "inbox"
    STREAM = "stream"
    WEBHOOK = "webhook"
    EMAIL = "email"


class Category(StrEnum):
    MATCH = "match"
    CONSORTIUM = "consortium"
    AGENDA = "agenda"
    REGISTRATION = "registration"
    ALERT = "alert"


class NotificationType(StrEnum):
    MATCH_CREATED = "match.created"
    MATCH_RETRACTED = "match.retracted"
    CONSORTIUM_PROPOSED = "consortium.proposed"
    CONSORTIUM_UPDATED = "consortium.updated"
    AGENDA_PUBLISHED = "agenda.published"
    AGENDA_UPDATED = "agenda.updated"
    REGISTRATION_CONFIRMED = "registration.confirmed"
    REGISTRATION_WAITLISTED = "registration.waitlisted"
    REGISTRATION_PROMOTED = "registration.promoted"
    ALERT_RAISED = "alert.raised"
    ALERT_CLEARED = "alert.cleared"
    DIGEST = "digest"
    WEBHOOK_DISABLED = "webhook.disabled"  # to the endpoint's owner, in the inbox and by e-mail

    @property
    def category(self) -> Category | None:
        """None for a digest, which gathers several categories, and for notices about the account."""
        head = self.value.split(".")[0]
        return None if self in (NotificationType.DIGEST, NotificationType.WEBHOOK_DISABLED) else Category(head)

    @property
    def template(self) -> str:
        return self.value.replace(".", "_")


@dataclass(frozen=True)
class Notice:
    """One notification for one recipient; ``context`` is JSON-ready and fills the templates."""

    recipient: str
    type: NotificationType
    context: dict[str, Any] = field(default_factory=dict)
    score: float | None = None  # compared with the recipient's minimum match score


def notification_id(event_id: str, recipient: str, channel: Channel | str) -> str:
    """Stable id of one message: the same event, recipient and channel always give the same id,
    so a redelivered Kafka message can never create a second inbox entry or a new webhook id."""
    digest = hashlib.sha256(f"{event_id}\x00{recipient}\x00{channel}".encode()).hexdigest()
    return f"msg_{digest[:32]}"
