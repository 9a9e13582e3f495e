"""Topics are created with the configured replication factor and ``min.insync.replicas``, and a
creation the broker refuses is an error, not a topic silently missing."""

from __future__ import annotations

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import InvalidReplicationFactorError

from shared import topics
from shared.kafka import ensure_topics
from shared.settings import CommonSettings

pytestmark = pytest.mark.integration

TOPIC_CONFIG = 1  # DescribeConfigs v1 config_source: set on the topic (5 is the broker's default)


async def _config(settings: CommonSettings, topic: str) -> dict[str, tuple[str, bool]]:
    """The topic's config: name -> (value, is it set on the topic)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers, **settings.kafka_client_options())
    await admin.start()
    try:
        [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    finally:
        await admin.close()
    [(_, _, _, _, entries)] = response.resources
    return {name: (value, source == TOPIC_CONFIG) for name, value, _, source, *_ in entries}


async def test_topics_get_min_insync_replicas_of_their_own(common_settings: CommonSettings):
    name = topics.LISTINGS.full_name(common_settings.topic_prefix)
    assert await ensure_topics(common_settings, [topics.LISTINGS]) == [name]
    config = await _config(common_settings, name)
    assert config["min.insync.replicas"] == ("1", True)
    assert config["cleanup.policy"] == ("compact", True)


async def test_a_replication_factor_the_cluster_cannot_hold_is_an_error_naming_the_topic(make_settings):
    settings = make_settings(CommonSettings, kafka_replication_factor=3, kafka_min_insync_replicas=2)
    name = topics.ALERTS.full_name(settings.topic_prefix)
    with pytest.raises(InvalidReplicationFactorError, match=f"creating topic {name}"):
        await ensure_topics(settings, [topics.ALERTS])
