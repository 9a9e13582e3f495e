"""Prometheus metrics from the latest snapshot, named as kafka_exporter / kafka-lag-exporter /
Burrow's exporters name them, so existing dashboards and alert rules work unchanged.

Status gauges use Burrow's numeric codes: NOTFOUND 0, OK 1, WARN 2, ERR 3, STOP 4, STALL 5,
REWIND 6. Partitions without a committed offset have no lag series; those holding records
(table changelogs aside) are counted in ``kafka_consumergroup_uncommitted_partitions``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from prometheus_client.core import REGISTRY, GaugeMetricFamily
from prometheus_client.registry import Collector

from services.monitor.runtime import MonitorRuntime

BURROW_CODES = {"OK": 1, "WARN": 2, "ERR": 3, "STOP": 4, "STALL": 5, "REWIND": 6}
PARTITION = ["consumergroup", "topic", "partition"]


class SnapshotCollector(Collector):
    def __init__(self) -> None:
        self.source: Callable[[], MonitorRuntime | None] = lambda: None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        runtime = self.source()
        if runtime is None:
            return
        snapshot = runtime.latest
        up = GaugeMetricFamily("kafka_monitor_up", "1 when the last sampling round reached Kafka")
        up.add_metric([], 0 if runtime.failure else 1)
        yield up
        if snapshot is None:
            return
        age = GaugeMetricFamily("kafka_monitor_sample_age_seconds", "Age of the values below (stale when large)")
        age.add_metric([], round(time.time() - snapshot.at, 3))
        yield age
        lag = GaugeMetricFamily("kafka_consumergroup_lag", "Lag in messages per partition", labels=PARTITION)
        seconds = GaugeMetricFamily("kafka_consumergroup_lag_seconds", "Estimated lag in seconds per partition",
                                    labels=[*PARTITION, "bound"])
        current = GaugeMetricFamily("kafka_consumergroup_current_offset", "Committed offset", labels=PARTITION)
        log_end = GaugeMetricFamily("kafka_topic_partition_current_offset", "Log-end offset",
                                    labels=["topic", "partition"])
        partition_status = GaugeMetricFamily("kafka_consumergroup_partition_status",
                                             "Burrow partition status code", labels=PARTITION)
        group_status = GaugeMetricFamily("kafka_consumergroup_status", "Burrow group status code",
                                         labels=["consumergroup"])
        members = GaugeMetricFamily("kafka_consumergroup_members", "Members of the group", labels=["consumergroup"])
        uncommitted = GaugeMetricFamily("kafka_consumergroup_uncommitted_partitions",
                                        "Partitions holding records the group never committed an offset for",
                                        labels=["consumergroup"])
        seen_ends: set[tuple[str, int]] = set()
        for name, group in snapshot.groups.items():
            group_status.add_metric([name], BURROW_CODES[group.status])
            members.add_metric([name], len(group.members))
            uncommitted.add_metric([name], group.uncommitted_partitions)
            for p in group.partitions:
                labels = [name, p.topic, str(p.partition)]
                partition_status.add_metric(labels, BURROW_CODES[p.status])
                if p.lag is not None and p.committed_offset is not None:
                    lag.add_metric(labels, p.lag)
                    current.add_metric(labels, p.committed_offset)
                if p.lag_seconds is not None and p.lag_seconds_bound is not None:
                    seconds.add_metric([*labels, p.lag_seconds_bound], p.lag_seconds)
                if (p.topic, p.partition) not in seen_ends:
                    seen_ends.add((p.topic, p.partition))
                    log_end.add_metric([p.topic, str(p.partition)], p.log_end_offset)
        dead = GaugeMetricFamily("kafka_dead_letter_topic_records", "Records held by a dead-letter topic",
                                 labels=["topic"])
        for topic, size in snapshot.dead_letters.items():
            dead.add_metric([topic], size.size)
        yield from (lag, seconds, current, log_end, partition_status, group_status, members, uncommitted, dead)


COLLECTOR = SnapshotCollector()
REGISTRY.register(COLLECTOR)
