"""Fixtures of the monitor's integration tests: topics with records, groups with chosen commits,
and a monitor app whose sampling rounds the test drives itself."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from services.monitor.app import create_app
from services.monitor.settings import Settings
from shared.settings import DEV_OPERATOR_TOKEN
from tests.support import kafka_security, running

OPERATOR = {"Authorization": f"Bearer {DEV_OPERATOR_TOKEN}"}


class Cluster:
    """Test-side Kafka helper bound to one namespace; deletes what it created."""

    def __init__(self, bootstrap: str, namespace: str):
        self.bootstrap = bootstrap
        self.namespace = namespace
        self.admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **kafka_security(bootstrap))
        self.producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0, **kafka_security(bootstrap))
        self.created: list[str] = []
        self.members: list[AIOKafkaConsumer] = []

    async def topic(self, name: str, partitions: int = 1) -> str:
        full = self.namespace + name
        await self.admin.create_topics([NewTopic(full, partitions, 1)])
        self.created.append(full)
        return full

    async def produce(self, topic: str, count: int, partition: int = 0) -> list[int]:
        """Append ``count`` records; return their offsets."""
        sent = [await self.producer.send_and_wait(topic, b"x", partition=partition) for _ in range(count)]
        return [m.offset for m in sent]

    async def commit(self, group: str, offsets: dict[tuple[str, int], int]) -> None:
        """Commit offsets for a group without joining it (the group stays without members)."""
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, group_id=self.namespace + group,
                                    enable_auto_commit=False, **kafka_security(self.bootstrap))
        await consumer.start()
        try:
            consumer.assign([TopicPartition(*tp) for tp in offsets])
            await consumer.commit({TopicPartition(*tp): o for tp, o in offsets.items()})
        finally:
            await consumer.stop()

    async def member(self, group: str, topic: str, *, commit: int | None = None) -> AIOKafkaConsumer:
        """A live member that holds its partitions; it commits ``commit`` on them once, or never."""
        consumer = AIOKafkaConsumer(topic, bootstrap_servers=self.bootstrap, group_id=self.namespace + group,
                                    enable_auto_commit=False, auto_offset_reset="earliest",
                                    **kafka_security(self.bootstrap))
        await consumer.start()
        self.members.append(consumer)
        while not consumer.assignment():
            await consumer.getmany(timeout_ms=200)
        if commit is not None:
            await consumer.commit({tp: commit for tp in consumer.assignment()})
        return consumer

    async def close(self) -> None:
        for consumer in self.members:
            await consumer.stop()
        if self.created:
            await self.admin.delete_topics(self.created)
        await self.producer.stop()
        await self.admin.close()


@pytest.fixture
async def cluster(infra, namespace) -> AsyncIterator[Cluster]:
    helper = Cluster(infra.kafka_bootstrap_servers, namespace)
    await helper.admin.start()
    await helper.producer.start()
    yield helper
    await helper.close()


@pytest.fixture
def monitor_settings(make_settings: Callable[..., Settings], namespace: str) -> Callable[..., Settings]:
    def build(**overrides: object) -> Settings:
        values: dict[str, object] = {"group_prefix": namespace, "window": 3, "sample_timeout_seconds": 30.0}
        values.update(overrides)
        return make_settings(Settings, **values)

    return build


@pytest.fixture
async def monitor(monitor_settings) -> AsyncIterator[tuple[object, httpx.AsyncClient]]:
    """The app without its sampling loop: the test calls ``app.state.runtime.sample_once()``."""
    app = create_app(monitor_settings(), sample=False)
    async with running(app, headers=OPERATOR) as client:
        yield app.state.runtime, client
