"""What the sampler observes on the cluster and what the monitor makes of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class PartitionStatus(StrEnum):
    """Burrow's partition statuses (see services/monitor/README.md for the rules)."""

    OK = "OK"
    WARN = "WARN"
    STALL = "STALL"
    STOP = "STOP"
    REWIND = "REWIND"


class GroupStatus(StrEnum):
    """Burrow's group statuses: ERR when any partition is STALL, STOP or REWIND or the group
    could not be read; WARN when any partition is WARN; OK otherwise."""

    OK = "OK"
    WARN = "WARN"
    ERR = "ERR"


class Bound(StrEnum):
    """How a lag-in-seconds value relates to the truth."""

    ESTIMATE = "estimate"  # interpolated between two sampled points
    AT_LEAST = "at_least"  # the committed offset is older than every sampled point: a lower bound


@dataclass(frozen=True)
class Member:
    member_id: str
    client_id: str
    host: str


@dataclass(frozen=True)
class PartitionOffsets:
    """One partition of one group as sampled: ``committed`` is None when the group never
    committed an offset for it (it is assigned to a member but has no OffsetFetch entry)."""

    topic: str
    partition: int
    committed: int | None
    log_end: int
    owner: Member | None = None


@dataclass(frozen=True)
class GroupObservation:
    group: str
    state: str
    protocol_type: str
    members: tuple[Member, ...]
    partitions: tuple[PartitionOffsets, ...]
    error: str | None = None  # why the group's offsets could not be read


@dataclass(frozen=True)
class ClusterObservation:
    """One sampling round: every group; the log-end offset of every partition sampled (those of
    the groups and of the registry's topics); dead-letter topics with (log start, log end)."""

    at: float  # seconds since the epoch
    groups: tuple[GroupObservation, ...]
    log_ends: dict[tuple[str, int], int] = field(default_factory=dict)
    dead_letters: dict[str, tuple[int, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class PartitionLag:
    topic: str
    partition: int
    committed_offset: int | None
    log_end_offset: int
    lag: int | None  # None: no committed offset
    lag_seconds: float | None
    lag_seconds_bound: Bound | None
    status: PartitionStatus
    owner: Member | None


@dataclass(frozen=True)
class GroupLag:
    group: str
    state: str
    protocol_type: str
    members: tuple[Member, ...]
    status: GroupStatus
    total_lag: int
    max_lag_seconds: float | None
    uncommitted_partitions: int
    partitions: tuple[PartitionLag, ...]
    error: str | None = None

    @property
    def worst_partition_status(self) -> PartitionStatus:
        order = [PartitionStatus.OK, PartitionStatus.WARN, PartitionStatus.REWIND, PartitionStatus.STALL,
                 PartitionStatus.STOP]
        return max((p.status for p in self.partitions), key=order.index, default=PartitionStatus.OK)


@dataclass(frozen=True)
class DeadLetterSize:
    topic: str
    size: int  # records currently held (log end minus log start)
    growth: int  # records added over the evaluation window


@dataclass(frozen=True)
class Snapshot:
    at: float
    groups: dict[str, GroupLag]
    throughput: dict[str, float]  # records per second per topic, over the last sampling interval
    dead_letters: dict[str, DeadLetterSize]
