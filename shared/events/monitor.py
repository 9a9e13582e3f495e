"""Events of the monitor service: operators' alerts, raised and cleared."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from shared.events.common import LocalizedText
from shared.events.envelope import EventData, event_type


class Severity(StrEnum):
    WARNING = "warning"
    CRITICAL = "critical"


@event_type("alert.raised.v1")
@event_type("alert.cleared.v1")
class AlertData(EventData):
    alert_id: str  # stable per condition (rule and subject), so raise and clear pair up
    rule: str
    severity: Severity
    subject: str  # e.g. the consumer group or the dead-letter topic
    value: float
    threshold: float
    message: LocalizedText
    since: datetime
