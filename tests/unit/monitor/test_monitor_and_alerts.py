from services.monitor.domain.alerts import AlertBook, AlertRules, conditions
from services.monitor.domain.model import (
    Bound,
    ClusterObservation,
    GroupObservation,
    GroupStatus,
    Member,
    PartitionOffsets,
    PartitionStatus,
)
from services.monitor.domain.monitor import LagMonitor, MonitorConfig

MEMBER = Member("m-1", "client-1", "/127.0.0.1")


def observe(monitor: LagMonitor, at: float, committed: int | None, log_end: int, *, members=(MEMBER,),
            dead_letters=None):
    group = GroupObservation("g", "Stable" if members else "Empty", "consumer", tuple(members),
                             (PartitionOffsets("orders", 0, committed, log_end, members[0] if members else None),))
    return monitor.observe(ClusterObservation(at, (group,), {("orders", 0): log_end}, dead_letters or {}))


def test_snapshot_carries_lag_seconds_status_history_and_throughput():
    monitor = LagMonitor(MonitorConfig(window=3))
    observe(monitor, 0.0, 0, 0)
    observe(monitor, 10.0, 0, 100)
    snapshot = observe(monitor, 20.0, 50, 200)
    group = snapshot.groups["g"]
    partition = group.partitions[0]
    assert (partition.lag, partition.status, group.status) == (150, PartitionStatus.OK, GroupStatus.OK)
    assert partition.lag_seconds_bound is Bound.ESTIMATE
    assert partition.lag_seconds == 20.0 - 5.1  # record 50 appended when the end reached 51 at t=5.1
    assert snapshot.throughput == {"orders": 10.0}
    assert [p.total_lag for p in monitor.group_history["g"]] == [0, 100, 150]


COMMITTING = GroupObservation("other", "Stable", "consumer", (MEMBER,), (
    PartitionOffsets("orders", 0, 30, 30, MEMBER), PartitionOffsets("orders", 1, 5, 5, MEMBER)))


def test_never_committed_partitions_are_shown_not_hidden():
    monitor = LagMonitor(MonitorConfig(window=3))
    group = GroupObservation("g", "Stable", "consumer", (MEMBER,), (PartitionOffsets("orders", 0, None, 30, MEMBER),))
    snapshot = monitor.observe(ClusterObservation(0.0, (group, COMMITTING), {("orders", 0): 30}))
    group = snapshot.groups["g"]
    assert group.uncommitted_partitions == 1
    assert group.partitions[0].committed_offset is None and group.partitions[0].lag is None
    assert group.total_lag == 0 and group.max_lag_seconds is None


def test_only_partitions_with_records_and_no_commit_count_as_uncommitted():
    monitor = LagMonitor(MonitorConfig(window=3))
    group = GroupObservation("g", "Stable", "consumer", (MEMBER,), (
        PartitionOffsets("orders", 0, None, 0, MEMBER),  # empty: nothing to commit
        PartitionOffsets("app-table-changelog", 0, None, 40, MEMBER),  # table state, read on recovery
        PartitionOffsets("orders", 1, None, 5, MEMBER),
    ))
    snapshot = monitor.observe(ClusterObservation(0.0, (group, COMMITTING), {("orders", 0): 0, ("orders", 1): 5,
                                                                            ("app-table-changelog", 0): 40}))
    assert snapshot.groups["g"].uncommitted_partitions == 1


def test_on_topics_no_group_commits_on_nothing_awaits_a_commit_and_nothing_stalls():
    monitor = LagMonitor(MonitorConfig(window=2))
    for at, end in ((0.0, 40), (5.0, 60)):  # a faust worker's table changelog and leader topic, growing
        group = GroupObservation("worker", "Stable", "consumer", (MEMBER,), (
            PartitionOffsets("app-table-changelog", 0, None, end, MEMBER),
            PartitionOffsets("app-__assignor-__leader", 0, None, end, MEMBER)))
        snapshot = monitor.observe(ClusterObservation(at, (group,), {}))
    worker = snapshot.groups["worker"]
    assert worker.uncommitted_partitions == 0 and worker.status is GroupStatus.OK
    assert {p.status for p in worker.partitions} == {PartitionStatus.OK}


def test_state_of_vanished_groups_is_forgotten():
    monitor = LagMonitor(MonitorConfig(window=3))
    observe(monitor, 0.0, 0, 10)
    monitor.observe(ClusterObservation(1.0, ()))
    assert monitor.group_history == {} and monitor.latest.groups == {}


def test_alerts_raise_once_and_clear_when_the_condition_ends():
    monitor = LagMonitor(MonitorConfig(window=3))
    rules = AlertRules(lag_messages=50, lag_seconds=1e9)
    book = AlertBook()
    raised_ids = []
    for at, committed in ((0.0, 0), (1.0, 0), (2.0, 0)):
        raised, cleared = book.update(conditions(observe(monitor, at, committed, 100 * (int(at) + 1)), rules), at)
        raised_ids += [a.condition.alert_id for a in raised]
        assert cleared == []
    assert sorted(raised_ids) == ["lag_messages:g", "status:g"]  # lag at once, STALL when the window filled
    assert book.active["status:g"].condition.critical
    assert book.active["lag_messages:g"].since == 0.0 and book.active["lag_messages:g"].condition.value == 300
    raised, cleared = book.update(conditions(observe(monitor, 3.0, 300, 300), rules), 3.0)
    assert raised == [] and sorted(a.condition.alert_id for a in cleared) == ["lag_messages:g", "status:g"]
    assert book.active == {}


def test_a_growing_dead_letter_topic_alerts_until_it_stops_growing():
    monitor = LagMonitor(MonitorConfig(window=3))  # growth is measured over the last 3 samples
    rules = AlertRules()
    sizes = [(0, 0), (0, 3), (0, 3), (0, 3)]
    found = []
    for at, (start, end) in enumerate(sizes):
        snapshot = observe(monitor, float(at), 0, 0, dead_letters={"matching.dlq": (start, end)})
        found.append([c.alert_id for c in conditions(snapshot, rules)])
    assert found == [[], ["dead_letters_growing:matching.dlq"], ["dead_letters_growing:matching.dlq"], []]
    assert snapshot.dead_letters["matching.dlq"].size == 3
