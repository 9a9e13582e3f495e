"""Replication for real clusters: the settings, and faust's internal topics following them."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.matching.events import MatchingStream
from services.matching.settings import Settings as MatchingSettings
from shared.settings import CommonSettings


def test_defaults_fit_the_local_single_node_and_the_environment_sets_a_cluster(monkeypatch):
    defaults = CommonSettings()
    assert (defaults.kafka_replication_factor, defaults.kafka_min_insync_replicas) == (1, 1)
    monkeypatch.setenv("HARDTECH_KAFKA_REPLICATION_FACTOR", "3")
    monkeypatch.setenv("HARDTECH_KAFKA_MIN_INSYNC_REPLICAS", "2")
    cluster = CommonSettings()
    assert (cluster.kafka_replication_factor, cluster.kafka_min_insync_replicas) == (3, 2)


def test_more_in_sync_replicas_than_replicas_is_refused():
    with pytest.raises(ValidationError, match=r"MIN_INSYNC_REPLICAS \(3\) cannot exceed .*REPLICATION_FACTOR \(2\)"):
        CommonSettings(kafka_replication_factor=2, kafka_min_insync_replicas=3)


def test_the_matching_workers_changelogs_and_work_topic_are_replicated_as_configured(tmp_path):
    stream = MatchingStream(MatchingSettings(kafka_replication_factor=3, kafka_min_insync_replicas=2,
                                             datadir=tmp_path))
    assert stream.app.conf.topic_replication_factor == 3
    internal = [stream.work, *(table.table.changelog_topic for table in vars(stream.state).values())]
    assert len(internal) == 7  # the work topic and six tables
    assert all(topic.config == {"min.insync.replicas": "2"} for topic in internal)
