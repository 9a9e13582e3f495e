"""The monitor's state between samples: offset timelines, evaluation windows, chart history.

``LagMonitor.observe`` takes one ``ClusterObservation`` and returns the ``Snapshot`` that every
output (JSON, Prometheus, dashboard, alerts) reads. Everything it keeps is bounded.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from services.monitor.domain.evaluation import WindowPoint, group_status, partition_status
from services.monitor.domain.lag_seconds import OffsetTimeline
from services.monitor.domain.model import (
    ClusterObservation,
    DeadLetterSize,
    GroupLag,
    GroupObservation,
    PartitionLag,
    Snapshot,
)


@dataclass(frozen=True)
class MonitorConfig:
    window: int = 10  # samples per evaluation window (Burrow's default is 10 commits)
    timeline_capacity: int = 64  # (log end, time) points kept per partition
    history: int = 360  # chart points kept per group and topic (30 min at 5 s)


@dataclass(frozen=True)
class GroupPoint:
    at: float
    total_lag: int
    max_lag_seconds: float | None


class LagMonitor:
    def __init__(self, config: MonitorConfig = MonitorConfig()):
        self.config = config
        self._timelines: dict[tuple[str, int], OffsetTimeline] = {}
        self._windows: dict[tuple[str, str, int], deque[WindowPoint]] = {}
        self._topic_ends: tuple[float, dict[str, int]] | None = None
        self._dead_letter_ends: dict[str, deque[int]] = {}
        self.group_history: dict[str, deque[GroupPoint]] = {}
        self.throughput_history: dict[str, deque[tuple[float, float]]] = {}
        self.latest: Snapshot | None = None

    def observe(self, observation: ClusterObservation) -> Snapshot:
        self._record_log_ends(observation)
        committed = committed_topics(observation)
        groups = {g.group: self._evaluate_group(g, observation.at, committed) for g in observation.groups}
        self._forget_windows_except(groups)
        for name, lag in groups.items():
            self._history(self.group_history, name).append(GroupPoint(observation.at, lag.total_lag,
                                                                      lag.max_lag_seconds))
        for gone in set(self.group_history) - set(groups):
            del self.group_history[gone]
        snapshot = Snapshot(observation.at, groups, self._throughput(observation),
                            self._dead_letters(observation))
        self.latest = snapshot
        return snapshot

    def _history(self, table: dict, key: str) -> deque:
        if key not in table:
            table[key] = deque(maxlen=self.config.history)
        return table[key]

    def _record_log_ends(self, observation: ClusterObservation) -> None:
        ends = dict(observation.log_ends)
        for group in observation.groups:
            ends.update(((p.topic, p.partition), p.log_end) for p in group.partitions)
        for key, log_end in ends.items():
            timeline = self._timelines.get(key)
            if timeline is None:
                timeline = self._timelines[key] = OffsetTimeline(self.config.timeline_capacity)
            timeline.record(log_end, observation.at)
        for gone in set(self._timelines) - set(ends):
            del self._timelines[gone]

    def _evaluate_group(self, group: GroupObservation, now: float, committed: frozenset[str]) -> GroupLag:
        partitions = []
        for p in sorted(group.partitions, key=lambda p: (p.topic, p.partition)):
            window = self._windows.get((group.group, p.topic, p.partition))
            if window is None:
                window = self._windows[(group.group, p.topic, p.partition)] = deque(maxlen=self.config.window)
            point = WindowPoint(now, p.committed, p.log_end)
            window.append(point)
            status = partition_status(window, size=self.config.window, has_members=bool(group.members),
                                      topic_committed=p.topic in committed)
            seconds = (None if p.committed is None
                       else self._timelines[(p.topic, p.partition)].lag_seconds(p.committed, now))
            partitions.append(PartitionLag(
                p.topic, p.partition, p.committed, p.log_end, point.lag,
                None if seconds is None else round(seconds[0], 3), None if seconds is None else seconds[1],
                status, p.owner))
        lags_seconds = [p.lag_seconds for p in partitions if p.lag_seconds is not None]
        return GroupLag(
            group=group.group, state=group.state, protocol_type=group.protocol_type, members=group.members,
            status=group_status(((p.status, p.lag) for p in partitions), error=group.error),
            total_lag=sum(p.lag or 0 for p in partitions),
            max_lag_seconds=max(lags_seconds, default=None),
            uncommitted_partitions=sum(1 for p in partitions if awaits_first_commit(p, committed)),
            partitions=tuple(partitions), error=group.error,
        )

    def _forget_windows_except(self, groups: dict[str, GroupLag]) -> None:
        live = {(g.group, p.topic, p.partition) for g in groups.values() for p in g.partitions}
        for gone in set(self._windows) - live:
            del self._windows[gone]

    def _throughput(self, observation: ClusterObservation) -> dict[str, float]:
        topic_ends: dict[str, int] = {}
        for (topic, _), end in observation.log_ends.items():
            topic_ends[topic] = topic_ends.get(topic, 0) + end
        previous, self._topic_ends = self._topic_ends, (observation.at, topic_ends)
        if previous is None or observation.at <= previous[0]:
            return {}
        elapsed = observation.at - previous[0]
        rates = {topic: max(0, end - previous[1][topic]) / elapsed
                 for topic, end in topic_ends.items() if topic in previous[1]}
        for topic, rate in rates.items():
            self._history(self.throughput_history, topic).append((observation.at, round(rate, 3)))
        for gone in set(self.throughput_history) - set(topic_ends):
            del self.throughput_history[gone]
        return rates

    def _dead_letters(self, observation: ClusterObservation) -> dict[str, DeadLetterSize]:
        sizes = {}
        for topic, (start, end) in observation.dead_letters.items():
            ends = self._dead_letter_ends.setdefault(topic, deque(maxlen=self.config.window))
            ends.append(end)
            sizes[topic] = DeadLetterSize(topic, max(0, end - start), max(0, end - ends[0]))
        for gone in set(self._dead_letter_ends) - set(observation.dead_letters):
            del self._dead_letter_ends[gone]
        return sizes


# Stream processors' table changelogs (faust, Kafka Streams) are read back on recovery, never
# committed: an assigned changelog partition without a commit is state, not unprocessed input.
CHANGELOG_SUFFIX = "-changelog"


def committed_topics(observation: ClusterObservation) -> frozenset[str]:
    """Topics some group commits offsets on, changelogs aside: on the others (state read back on
    recovery, topics read without commits) a partition without a commit is not waiting input."""
    return frozenset(p.topic for g in observation.groups for p in g.partitions
                     if p.committed is not None and not p.topic.endswith(CHANGELOG_SUFFIX))


def awaits_first_commit(partition: PartitionLag, committed: frozenset[str]) -> bool:
    """Records are there and the group has never committed on them, on a topic that groups
    commit on: possibly unprocessed."""
    return (partition.committed_offset is None and partition.log_end_offset > 0
            and partition.topic in committed)
