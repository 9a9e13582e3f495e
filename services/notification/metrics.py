"""Prometheus counters of the notification service, per channel."""

from __future__ import annotations

from prometheus_client import Counter

NOTIFICATIONS = Counter("notifications_total", "Notification messages by channel and outcome "
                        "(sent, failed attempt, retried, dead_lettered)", ["channel", "outcome"])


def count(channel: str, outcome: str, amount: int = 1) -> None:
    NOTIFICATIONS.labels(channel, outcome).inc(amount)
