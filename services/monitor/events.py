"""Kafka adapter: one sampling round of every consumer group (ListGroups, DescribeGroups,
OffsetFetch) and of the log ends (ListOffsets latest, and earliest for dead-letter topics)."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment
from aiokafka.errors import KafkaError

from services.monitor.domain.model import ClusterObservation, GroupObservation, Member, PartitionOffsets
from services.monitor.settings import Settings
from shared import topics


CONCURRENCY = 32  # coordinator requests in flight at once


class SamplingFailed(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _assignment(member: dict) -> list[tuple[str, int]]:
    """Partitions in a member's assignment; faust's assignor uses the same wire format."""
    raw = member.get("member_assignment") or b""
    if not raw:
        return []
    try:
        return [(tp.topic, tp.partition) for tp in ConsumerProtocolMemberAssignment.decode(raw).partitions()]
    except Exception:  # a protocol other than "consumer" (e.g. Connect) carries other bytes
        return []


class KafkaSampler:
    """Keeps one admin client and one group-less consumer, rebuilt after any failure."""

    def __init__(self, settings: Settings):
        self._settings = settings
        self._admin: AIOKafkaAdminClient | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._limit = asyncio.Semaphore(CONCURRENCY)

    async def _clients(self) -> tuple[AIOKafkaAdminClient, AIOKafkaConsumer]:
        timeout_ms = int(self._settings.sample_timeout_seconds * 1000)
        if self._admin is None:
            admin = AIOKafkaAdminClient(bootstrap_servers=self._settings.kafka_bootstrap_servers,
                                        client_id="hardtech-monitor", request_timeout_ms=timeout_ms,
                                        **self._settings.kafka_client_options())
            await admin.start()
            self._admin = admin
        if self._consumer is None:
            consumer = AIOKafkaConsumer(bootstrap_servers=self._settings.kafka_bootstrap_servers,
                                        client_id="hardtech-monitor", group_id=None, enable_auto_commit=False,
                                        request_timeout_ms=timeout_ms, **self._settings.kafka_client_options())
            await consumer.start()
            self._consumer = consumer
        return self._admin, self._consumer

    async def close(self) -> None:
        admin, consumer, self._admin, self._consumer = self._admin, self._consumer, None, None
        for closing in (admin.close() if admin else None, consumer.stop() if consumer else None):
            if closing is not None:
                try:
                    await asyncio.wait_for(closing, 5)
                except (KafkaError, OSError, asyncio.TimeoutError):
                    pass

    async def observe(self) -> ClusterObservation:
        """One full round, or SamplingFailed with the reason (never longer than the timeout)."""
        try:
            return await asyncio.wait_for(self._observe(), self._settings.sample_timeout_seconds)
        except asyncio.TimeoutError:
            await self.close()
            raise SamplingFailed(f"Kafka did not answer within {self._settings.sample_timeout_seconds:g} s "
                                 f"at {self._settings.kafka_bootstrap_servers}") from None
        except (KafkaError, OSError) as exc:
            await self.close()
            raise SamplingFailed(f"Kafka unreachable at {self._settings.kafka_bootstrap_servers}: "
                                 f"{type(exc).__name__}: {exc}") from None

    async def _observe(self) -> ClusterObservation:
        admin, consumer = await self._clients()
        listed = await admin.list_consumer_groups()
        names = sorted({g[0] for g in listed if g[0].startswith(self._settings.group_prefix)})
        coordinators = dict(zip(names, await asyncio.gather(*(self._limited(admin.find_coordinator(g))
                                                               for g in names)), strict=True))
        descriptions = await self._describe(admin, coordinators)
        committed = await asyncio.gather(*(self._committed(admin, g, coordinators[g]) for g in names))
        partitions = {(t["topic"], p["partition"]) for t in await admin.describe_topics() for p in t["partitions"]}
        prefix = self._settings.topic_prefix
        dead_letters = [s.full_name(prefix) for s in topics.DEAD_LETTERS]
        watched = {t for t, _ in partitions if t in {s.full_name(prefix) for s in topics.ALL}}
        wanted = {tp for offsets, _ in committed for tp in offsets}
        for description in descriptions.values():
            wanted.update(tp for m in description.get("members", ()) for tp in _assignment(m))
        wanted.update(tp for tp in partitions if tp[0] in watched)
        wanted &= partitions  # a deleted topic's committed offsets have no log end to compare with
        tps = [TopicPartition(*tp) for tp in sorted(wanted)]
        dead_tps = [TopicPartition(*tp) for tp in sorted(partitions) if tp[0] in dead_letters]
        # Track every wanted topic's metadata in one refresh; otherwise aiokafka's ListOffsets
        # learns unknown topics one per retry (about 50 ms each: seconds for a cluster).
        await consumer._client.set_topics(sorted({tp.topic for tp in (*tps, *dead_tps)}))  # noqa: SLF001
        log_ends = {(tp.topic, tp.partition): o for tp, o in (await consumer.end_offsets(tps)).items()} if tps else {}
        log_starts = await consumer.beginning_offsets(dead_tps) if dead_tps else {}
        groups = tuple(self._group(g, descriptions.get(g, {}), offsets, error, log_ends)
                       for g, (offsets, error) in zip(names, committed, strict=True))
        dead: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for tp, start in log_starts.items():
            dead[tp.topic][0] += start
            dead[tp.topic][1] += log_ends.get((tp.topic, tp.partition), start)
        return ClusterObservation(time.time(), groups, log_ends,
                                  {t: (s, e) for t, (s, e) in dead.items()})

    async def _limited(self, awaitable):
        async with self._limit:
            return await awaitable

    async def _describe(self, admin: AIOKafkaAdminClient, coordinators: dict[str, int]) -> dict[str, dict]:
        # One group per request: aiokafka 0.14 decodes DescribeGroups v3 answers with the v2 schema,
        # which only holds for a single group (the trailing authorized_operations field is ignored).
        responses = await asyncio.gather(*(
            self._limited(admin.describe_consumer_groups([group], group_coordinator_id=node))
            for group, node in coordinators.items()))
        return {g["group"]: g for answer in responses for response in answer
                for g in response.to_object()["groups"]}

    async def _committed(self, admin: AIOKafkaAdminClient, group: str,
                         coordinator: int) -> tuple[dict[tuple[str, int], int], str | None]:
        """Committed offsets of a group (-1 means none), or the error that hid them."""
        try:
            offsets = await self._limited(admin.list_consumer_group_offsets(group, coordinator))
        except KafkaError as exc:
            return {}, f"{type(exc).__name__}: {exc}"
        return {(tp.topic, tp.partition): meta.offset for tp, meta in offsets.items() if meta.offset >= 0}, None

    @staticmethod
    def _group(name: str, description: dict, committed: dict[tuple[str, int], int], error: str | None,
               log_ends: dict[tuple[str, int], int]) -> GroupObservation:
        members: list[Member] = []
        owners: dict[tuple[str, int], Member] = {}
        for m in description.get("members", ()):
            member = Member(m["member_id"], m["client_id"], m["client_host"])
            members.append(member)
            for tp in _assignment(m):
                owners[tp] = member
        partitions = tuple(
            PartitionOffsets(topic, partition, committed.get((topic, partition)), log_ends[(topic, partition)],
                             owners.get((topic, partition)))
            for topic, partition in sorted(set(committed) | set(owners)) if (topic, partition) in log_ends
        )
        if description.get("error_code"):
            error = error or f"DescribeGroups error code {description['error_code']}"
        return GroupObservation(name, description.get("state", "Unknown"), description.get("protocol_type", ""),
                                tuple(members), partitions, error)
