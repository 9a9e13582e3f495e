"""Burrow-style status of a partition over a window of samples, and of a group.

The rules, in the order they are checked (also in services/monitor/README.md):

1. REWIND: the committed offset went backwards between two samples of the window.
2. No committed offset: OK on a topic no group commits on (a faust table's changelog, read back
   on recovery and never committed, or any topic read without commits); OK while the log end did
   not move over a full window (there was nothing the group should have committed); otherwise
   STALL with members, STOP without.
3. OK: the lag was zero in at least one sample of the window (Burrow's first rule). This is
   also what avoids Burrow's false STOP on idle topics: a consumer that stopped committing
   because nothing new arrived is caught up, and a caught-up partition is never STOP.
4. Until the window is full there is not enough evidence for anything worse: OK.
5. The committed offset did not move over the whole window while the lag stayed above zero:
   STALL when the group has members (a consumer is there but stuck), STOP when it has none
   (nobody consumes; Burrow infers this from commit timestamps, which OffsetFetch does not return).
6. WARN: the committed offset moved, but the lag never decreased between two samples.
7. Otherwise OK.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise

from services.monitor.domain.model import GroupStatus, PartitionStatus

FAILING = frozenset({PartitionStatus.STALL, PartitionStatus.STOP, PartitionStatus.REWIND})


@dataclass(frozen=True)
class WindowPoint:
    at: float
    committed: int | None
    log_end: int

    @property
    def lag(self) -> int | None:
        return None if self.committed is None else max(0, self.log_end - self.committed)


def partition_status(window: Sequence[WindowPoint], *, size: int, has_members: bool,
                     topic_committed: bool = True) -> PartitionStatus:
    """Evaluate the window (oldest first, at most ``size`` points, at least one);
    ``topic_committed``: some group commits offsets on this partition's topic."""
    latest = window[-1]
    commits = [p.committed for p in window]
    if any(a is not None and b is not None and b < a for a, b in pairwise(commits)):
        return PartitionStatus.REWIND
    full = len(window) >= size
    if latest.committed is None:
        if not topic_committed or not full or window[0].log_end == latest.log_end:
            return PartitionStatus.OK
        return PartitionStatus.STALL if has_members else PartitionStatus.STOP
    lags = [p.lag for p in window if p.lag is not None]
    if 0 in lags or not full:
        return PartitionStatus.OK
    if commits[0] == latest.committed:
        return PartitionStatus.STALL if has_members else PartitionStatus.STOP
    if all(later >= earlier for earlier, later in pairwise(lags)):
        return PartitionStatus.WARN
    return PartitionStatus.OK


def group_status(partitions: Iterable[tuple[PartitionStatus, int | None]], *, error: str | None = None) -> GroupStatus:
    """From each partition's (status, lag): ERR when the offsets could not be read or a failing
    partition has lag (or none known); a group with no lag is never in error (a REWIND to the log
    end, say); WARN when any partition is WARN."""
    partitions = list(partitions)
    if error is not None or any(status in FAILING and lag != 0 for status, lag in partitions):
        return GroupStatus.ERR
    return GroupStatus.WARN if any(status is PartitionStatus.WARN for status, _ in partitions) else GroupStatus.OK
