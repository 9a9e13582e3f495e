"""MongoDB adapter: the active alerts, each one document that carries its raise and clear events
in its outbox, so an alert is published exactly when its state is stored (and survives restarts)."""

from __future__ import annotations

from datetime import UTC, datetime

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.monitor.domain.alerts import ActiveAlert, Condition
from shared import outbox, topics
from shared.events import new_event
from shared.events.common import LocalizedText
from shared.events.monitor import AlertData, Severity
from shared.locks import KeyedLocks

SOURCE = "/services/monitor"


def alert_data(alert: ActiveAlert) -> AlertData:
    c = alert.condition
    return AlertData(alert_id=c.alert_id, rule=c.rule, severity=Severity.CRITICAL if c.critical else Severity.WARNING,
                     subject=c.subject, value=c.value, threshold=c.threshold,
                     message=LocalizedText(zh=c.message_zh, en=c.message_en),
                     since=datetime.fromtimestamp(alert.since, UTC))


class AlertStore:
    def __init__(self, db: AsyncDatabase, locks: KeyedLocks):
        self.alerts: AsyncCollection = db["alerts"]
        self._locks = locks  # shared with the outbox relay, which pops from the same documents

    async def active(self) -> list[ActiveAlert]:
        found = []
        async for doc in self.alerts.find({"active": True}):
            condition = Condition(doc["_id"], doc["rule"], doc["critical"], doc["subject"], doc["value"],
                                  doc["threshold"], doc["message_en"], doc["message_zh"])
            found.append(ActiveAlert(condition, doc["since"]))
        return found

    async def record(self, alert: ActiveAlert, *, raised: bool) -> None:
        """Store the alert's new state together with its alert.raised / alert.cleared event, unless
        it is stored in that state already."""
        event = new_event("alert.raised.v1" if raised else "alert.cleared.v1", alert_data(alert),
                          source=SOURCE, subject=alert.condition.alert_id)
        c = alert.condition
        fields = {"rule": c.rule, "critical": c.critical, "subject": c.subject, "value": c.value,
                  "threshold": c.threshold, "message_en": c.message_en, "message_zh": c.message_zh,
                  "since": alert.since, "active": raised}
        # Every replica samples and decides; the first to store a change records it and its event,
        # the others find the alert in that state already (the upsert of a document that is there).
        async with self._locks.hold(c.alert_id):
            try:
                await self.alerts.update_one(
                    {"_id": c.alert_id, "active": {"$ne": raised}},
                    outbox.merge_update({"$set": fields}, outbox.entry(event, topics.ALERTS, c.alert_id)),
                    upsert=True,
                )
            except DuplicateKeyError:
                pass
