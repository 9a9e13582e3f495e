import pytest

from services.monitor.domain.evaluation import WindowPoint, group_status, partition_status
from services.monitor.domain.model import GroupStatus, PartitionStatus

SIZE = 5


def window(commits: list[int | None], ends: list[int]) -> list[WindowPoint]:
    return [WindowPoint(float(i), c, e) for i, (c, e) in enumerate(zip(commits, ends, strict=True))]


def status(commits, ends, *, members: bool = True) -> PartitionStatus:
    return partition_status(window(commits, ends), size=SIZE, has_members=members)


def test_any_zero_lag_in_the_window_is_ok():
    assert status([0, 5, 5, 5, 5], [0, 10, 20, 30, 40]) is PartitionStatus.OK


def test_idle_topic_without_commits_or_members_is_ok_not_a_false_stop():
    # Burrow marks this STOP (no recent commit); nothing is waiting, so the group is fine.
    assert status([40] * 5, [40] * 5, members=False) is PartitionStatus.OK


def test_offset_unchanged_with_lag_and_members_is_stall():
    assert status([10] * 5, [20, 20, 25, 30, 30]) is PartitionStatus.STALL


def test_offset_unchanged_with_lag_and_no_members_is_stop():
    assert status([10] * 5, [20] * 5, members=False) is PartitionStatus.STOP


def test_moving_offsets_with_lag_never_shrinking_is_warn():
    assert status([10, 12, 14, 16, 18], [20, 22, 25, 28, 30]) is PartitionStatus.WARN


def test_moving_offsets_with_shrinking_lag_is_ok():
    assert status([10, 15, 20, 25, 30], [40, 41, 42, 43, 44]) is PartitionStatus.OK


def test_offset_going_back_is_rewind_even_when_lag_was_zero():
    assert status([10, 10, 3, 3, 3], [10, 10, 10, 10, 10]) is PartitionStatus.REWIND


def test_not_enough_evidence_before_the_window_is_full():
    assert status([10, 10], [20, 30]) is PartitionStatus.OK


@pytest.mark.parametrize(("ends", "members", "expected"), [
    ([7] * 5, True, PartitionStatus.OK),  # nothing new arrived: nothing to commit
    ([7, 8, 9, 9, 9], True, PartitionStatus.STALL),
    ([7, 8, 9, 9, 9], False, PartitionStatus.STOP),
])
def test_never_committed(ends, members, expected):
    assert status([None] * 5, ends, members=members) is expected


def test_never_committed_on_a_topic_no_group_commits_on_is_ok():
    # A faust table's changelog, say: read back on recovery, never committed, growing.
    assert partition_status(window([None] * 5, [7, 8, 9, 9, 9]), size=SIZE, has_members=True,
                            topic_committed=False) is PartitionStatus.OK


def test_group_status_follows_burrow():
    assert group_status([(PartitionStatus.OK, 0), (PartitionStatus.OK, 3)]) is GroupStatus.OK
    assert group_status([(PartitionStatus.OK, 0), (PartitionStatus.WARN, 5)]) is GroupStatus.WARN
    for failing in (PartitionStatus.STALL, PartitionStatus.STOP, PartitionStatus.REWIND):
        assert group_status([(PartitionStatus.WARN, 5), (failing, 2)]) is GroupStatus.ERR
    assert group_status([(PartitionStatus.STALL, None)]) is GroupStatus.ERR  # never committed, input waiting
    assert group_status([], error="coordinator not available") is GroupStatus.ERR


def test_a_group_with_no_lag_is_not_in_error():
    assert group_status([(PartitionStatus.REWIND, 0), (PartitionStatus.OK, 0)]) is GroupStatus.OK


def test_lag_is_never_negative():
    assert WindowPoint(0.0, 50, 40).lag == 0
    assert WindowPoint(0.0, None, 40).lag is None
