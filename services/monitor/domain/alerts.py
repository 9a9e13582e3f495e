"""Alert rules over a snapshot, and the book of active alerts that raises and clears them.

An alert's id is stable per rule and subject, so the event that clears it pairs with the one
that raised it; an alert clears itself on the first evaluation where its condition is gone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from services.monitor.domain.model import PartitionStatus, Snapshot


@dataclass(frozen=True)
class AlertRules:
    lag_messages: int = 1000  # total lag of a group above this raises
    lag_seconds: float = 300.0  # a group's largest lag in seconds above this raises
    statuses: frozenset[PartitionStatus] = frozenset({PartitionStatus.STALL, PartitionStatus.STOP})
    dead_letter_growth: int = 0  # more records than this added to a dead-letter topic over the window


@dataclass(frozen=True)
class Condition:
    alert_id: str
    rule: str
    critical: bool
    subject: str
    value: float
    threshold: float
    message_en: str
    message_zh: str


@dataclass(frozen=True)
class ActiveAlert:
    condition: Condition
    since: float


def conditions(snapshot: Snapshot, rules: AlertRules) -> list[Condition]:
    found: list[Condition] = []

    def add(rule: str, subject: str, value: float, threshold: float, critical: bool, en: str, zh: str) -> None:
        found.append(Condition(f"{rule}:{subject}", rule, critical, subject, value, threshold, en, zh))

    for name, group in sorted(snapshot.groups.items()):
        if group.total_lag > rules.lag_messages:
            add("lag_messages", name, group.total_lag, rules.lag_messages, False,
                f"Consumer group {name} lags {group.total_lag} messages (threshold {rules.lag_messages})",
                f"消费者组 {name} 积压 {group.total_lag} 条消息(阈值 {rules.lag_messages})")
        if group.max_lag_seconds is not None and group.max_lag_seconds > rules.lag_seconds:
            add("lag_seconds", name, round(group.max_lag_seconds, 1), rules.lag_seconds, False,
                f"Consumer group {name} lags {group.max_lag_seconds:.0f} s (threshold {rules.lag_seconds:.0f} s)",
                f"消费者组 {name} 延迟 {group.max_lag_seconds:.0f} 秒(阈值 {rules.lag_seconds:.0f} 秒)")
        stuck = [p for p in group.partitions if p.status in rules.statuses]
        if stuck:
            kinds = "/".join(sorted({p.status.value for p in stuck}))
            add("status", name, len(stuck), 0, True,
                f"Consumer group {name}: {len(stuck)} partition(s) in {kinds}",
                f"消费者组 {name}:{len(stuck)} 个分区处于 {kinds} 状态")
    for topic, dead in sorted(snapshot.dead_letters.items()):
        if dead.growth > rules.dead_letter_growth:
            add("dead_letters_growing", topic, dead.growth, rules.dead_letter_growth, False,
                f"Dead-letter topic {topic} grew by {dead.growth} records (now {dead.size})",
                f"死信主题 {topic} 新增 {dead.growth} 条记录(共 {dead.size} 条)")
    return found


@dataclass
class AlertBook:
    active: dict[str, ActiveAlert] = field(default_factory=dict)

    def update(self, current: list[Condition], now: float) -> tuple[list[ActiveAlert], list[ActiveAlert]]:
        """Apply this evaluation's conditions; return the alerts newly raised and those cleared."""
        by_id = {c.alert_id: c for c in current}
        cleared = [alert for alert_id, alert in self.active.items() if alert_id not in by_id]
        raised: list[ActiveAlert] = []
        for alert_id, condition in by_id.items():
            previous = self.active.get(alert_id)
            if previous is None:
                alert = ActiveAlert(condition, now)
                raised.append(alert)
            else:
                alert = ActiveAlert(condition, previous.since)  # keep its start, refresh its value
            self.active[alert_id] = alert
        for alert in cleared:
            del self.active[alert.condition.alert_id]
        return raised, cleared
