"""A faust-streaming app whose consumer can always seek back to what it has not processed.

Faust recovers from a rebalance or a paused flow by dropping the records it had fetched but
not yet handed to an agent, then seeking every partition back to its committed offset.
aiokafka's ``seek_to_committed`` leaves a partition where it is when nothing (or offset 0) was
committed for it yet, so those dropped records were never fetched again: a worker killed
before its first commit came back, fetched its input, dropped it during recovery, and sat idle
with the input unprocessed. Here such partitions go back to where ``auto_offset_reset=earliest``
would have started them: the beginning.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import faust
from aiokafka import TopicPartition
from faust.transport.drivers import aiokafka as faust_aiokafka


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    async def seek_to_committed(self) -> Mapping[TopicPartition, int]:
        return await self.call_thread(self._seek_back)

    async def _seek_back(self) -> Mapping[TopicPartition, int]:
        consumer = self._ensure_consumer()
        committed = await consumer.seek_to_committed()
        # Changelog positions belong to faust's table recovery, which sets them itself.
        changelogs = self.app.tables.changelog_topics
        uncommitted = [tp for tp, offset in committed.items() if not offset and tp.topic not in changelogs]
        if uncommitted:
            await consumer.seek_to_beginning(*uncommitted)
        return committed


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> _ConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class _Transport(faust_aiokafka.Transport):
    Consumer = _Consumer


def reliable_app(app_id: str, *, bootstrap_servers: str, **options: Any) -> faust.App:
    """``faust.App`` reading every topic from the beginning unless it committed an offset, and
    re-reading whatever faust dropped during a rebalance (see the module's docstring)."""
    app = faust.App(app_id, broker=[f"kafka://{server}" for server in bootstrap_servers.split(",")],
                    consumer_auto_offset_reset="earliest", **options)
    app.transport = _Transport(app.conf.broker_consumer, app, loop=app.loop)
    return app
