import pytest

from services.monitor.domain.lag_seconds import OffsetTimeline
from services.monitor.domain.model import Bound


def timeline(*points: tuple[int, float], capacity: int = 64) -> OffsetTimeline:
    table = OffsetTimeline(capacity)
    for offset, at in points:
        table.record(offset, at)
    return table


def test_interpolates_the_time_the_oldest_unconsumed_record_was_appended():
    # 10 records per second: record 24 is appended when the log end reaches 25, at t = 102.5.
    table = timeline((0, 100.0), (20, 102.0), (40, 104.0))
    seconds, bound = table.lag_seconds(24, now=104.0)
    assert bound is Bound.ESTIMATE
    assert seconds == pytest.approx(1.5)


def test_caught_up_is_zero_seconds():
    table = timeline((0, 100.0), (40, 104.0))
    assert table.lag_seconds(40, now=110.0) == (0.0, Bound.ESTIMATE)
    assert table.lag_seconds(45, now=110.0) == (0.0, Bound.ESTIMATE)  # ahead of the sampled end


def test_before_the_oldest_point_is_a_lower_bound_not_an_extrapolation():
    # A backfill: the committed offset is far behind everything sampled. kafka-lag-exporter would
    # extrapolate the slope (here 1 record/s -> ~1e6 s); the honest answer is "at least 4 s".
    table = timeline((1_000_000, 100.0), (1_000_004, 104.0))
    seconds, bound = table.lag_seconds(5, now=104.0)
    assert bound is Bound.AT_LEAST
    assert seconds == pytest.approx(4.0)


def test_no_points_no_estimate():
    assert OffsetTimeline().lag_seconds(3, now=1.0) is None


def test_a_flat_run_keeps_its_first_and_last_points():
    table = timeline((10, 1.0), (10, 2.0), (10, 3.0), (10, 4.0), (12, 5.0))
    assert table.points() == [(10, 1.0), (10, 4.0), (12, 5.0)]
    # Records 10 and 11 arrived between t=4 and t=5, not earlier: the flat run's end is used.
    seconds, _ = table.lag_seconds(10, now=5.0)
    assert seconds == pytest.approx(0.5)


def test_the_table_stays_bounded_and_keeps_its_horizon():
    table = OffsetTimeline(capacity=8)
    for step in range(100):
        table.record(step * 10, float(step))
    assert len(table) == 8
    points = table.points()
    assert points[0] == (0, 0.0) and points[-1] == (990, 99.0)
    assert [o for o, _ in points] == sorted(o for o, _ in points)
    # Still an estimate (not a bound) deep in the past, within a few seconds of the truth.
    seconds, bound = table.lag_seconds(100, now=99.0)
    assert bound is Bound.ESTIMATE and seconds == pytest.approx(99.0 - 10.1, abs=3.0)


def test_a_recreated_topic_restarts_the_table():
    table = timeline((500, 1.0), (600, 2.0), (3, 3.0))
    assert table.points() == [(3, 3.0)]


def test_capacity_below_three_is_refused():
    with pytest.raises(ValueError):
        OffsetTimeline(2)
