"""Lag in seconds, estimated from a bounded table of sampled (log-end offset, time) points.

For a committed offset C the oldest unconsumed record is C; it was appended when the log end
went from C to C + 1. That moment is interpolated linearly between the two sampled points
around C + 1 (as kafka-lag-exporter does), and the lag in seconds is ``now`` minus it.

Outside the sampled range nothing is extrapolated (kafka-lag-exporter's flaw during backfills,
where a slope from a few recent points turns into hours or days of fake lag):

- C at or past the latest sampled log end: the group is caught up, the lag is 0 s.
- C + 1 at or before the oldest point: record C was already in the log when the oldest point
  was sampled, so it is at least ``now - oldest time`` old. That lower bound is returned and
  marked ``Bound.AT_LEAST``; it grows by real time only, never by a guessed slope.
"""

from __future__ import annotations

from bisect import bisect_left

from services.monitor.domain.model import Bound


class OffsetTimeline:
    """Sampled log-end offsets of one partition, oldest first, offsets non-decreasing.

    Bounded: a flat run (no new records) keeps only its first and last points, and when the
    table is full the interior point whose neighbours are closest in time is dropped, so dense
    recent samples thin out while the oldest point, and thus the horizon, is kept.
    """

    def __init__(self, capacity: int = 64):
        if capacity < 3:
            raise ValueError("a timeline needs room for at least 3 points")
        self.capacity = capacity
        self._offsets: list[int] = []
        self._times: list[float] = []

    def __len__(self) -> int:
        return len(self._offsets)

    def points(self) -> list[tuple[int, float]]:
        return list(zip(self._offsets, self._times, strict=True))

    def record(self, log_end: int, at: float) -> None:
        if self._offsets and (log_end < self._offsets[-1] or at < self._times[-1]):
            # The topic was recreated or truncated (or the clock went back): old points lie.
            self._offsets.clear()
            self._times.clear()
        if len(self._offsets) >= 2 and self._offsets[-1] == log_end == self._offsets[-2]:
            self._times[-1] = at  # extend the flat run
            return
        self._offsets.append(log_end)
        self._times.append(at)
        if len(self._offsets) > self.capacity:
            self._drop_densest()

    def _drop_densest(self) -> None:
        times = self._times
        victim = min(range(1, len(times) - 1), key=lambda i: times[i + 1] - times[i - 1])
        del self._offsets[victim]
        del self._times[victim]

    def lag_seconds(self, committed: int, now: float) -> tuple[float, Bound] | None:
        """Seconds since record ``committed`` was appended; None without any sampled point."""
        if not self._offsets:
            return None
        if committed >= self._offsets[-1]:
            return 0.0, Bound.ESTIMATE
        target = committed + 1
        if target <= self._offsets[0]:
            return max(0.0, now - self._times[0]), Bound.AT_LEAST
        after = bisect_left(self._offsets, target)
        o1, t1 = self._offsets[after - 1], self._times[after - 1]
        o2, t2 = self._offsets[after], self._times[after]
        appended = t1 + (target - o1) / (o2 - o1) * (t2 - t1)
        return max(0.0, now - appended), Bound.ESTIMATE
