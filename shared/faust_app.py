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

import json
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

import faust
import faust.auth
from aiokafka import TopicPartition
from faust.transport.drivers import aiokafka as faust_aiokafka
from pydantic_core import from_json, to_json

from shared.settings import CommonSettings


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    async def seek_to_committed(self) -> Mapping[TopicPartition, int]:
        committed: Mapping[TopicPartition, int] = await self.call_thread(self._seek_back)
        return committed

    async def _seek_back(self) -> Mapping[TopicPartition, int]:
        consumer = self._ensure_consumer()
        committed: Mapping[TopicPartition, int] = await consumer.seek_to_committed()
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


def sasl_credentials(settings: CommonSettings) -> faust.auth.SASLCredentials | None:
    """The process's Kafka principal as faust takes it (None without SASL)."""
    options = settings.kafka_client_options()
    if not options:
        return None
    return faust.auth.SASLCredentials(username=options["sasl_plain_username"], password=options["sasl_plain_password"],
                                      mechanism=options["sasl_mechanism"], ssl_context=options.get("ssl_context"))


def reliable_app(app_id: str, *, bootstrap_servers: str, credentials: faust.auth.SASLCredentials | None = None,
                 **options: Any) -> faust.App:
    """``faust.App`` reading every topic from the beginning unless it committed an offset, and
    re-reading whatever faust dropped during a rebalance (see the module's docstring)."""
    app = faust.App(app_id, broker=[f"kafka://{server}" for server in bootstrap_servers.split(",")],
                    consumer_auto_offset_reset="earliest", broker_credentials=credentials, **options)
    app.transport = _Transport(app.conf.broker_consumer, app, loop=app.loop)
    return app


# RocksDB options of every JsonTable, sized on purpose rather than faust's defaults: a 2 GiB block
# cache (and a 500 MiB compressed one) and up to three 64 MiB memtables *per table*, which grow with
# what the tables hold (the matching worker's ledger: every output it sent) until they are
# gigabytes of resident memory, and as many open files per table as 90% of the process's limit.
# The tables are written far more than read back: a read is a ledger or item look-up of one key,
# found through the bloom filter and the index blocks (held per open file, outside the cache).
# Per table at most 2 x 4 MiB of memtables and an 8 MiB block cache: 16 MiB, 96 MiB for the
# matching worker's six tables (one partition each) whatever they hold. Open files: each holds its
# index and filter blocks in memory (~1% of a file of the default 64 MiB), so 256 per table bound
# that to ~0.16 GiB per table, reached only past 16 GiB of its files, and 6 x 256 descriptors stay
# far below the worker's limit (faust's default would give each table 90% of it).
ROCKSDB_OPTIONS: dict[str, int] = {
    "write_buffer_size": 4 * 1024 * 1024,
    "max_write_buffer_number": 2,
    "block_cache_size": 8 * 1024 * 1024,
    "max_open_files": 256,
}


class JsonTable(MutableMapping[str, Any]):
    """A faust table of JSON values under str keys, encoded here rather than by faust's codec,
    which wraps the standard library's encoder in several layers of Python for every key and
    value: that cost about a tenth of the matching worker's time. Its RocksDB store is opened with
    ``ROCKSDB_OPTIONS``.

    Keys are the bytes faust's ``json`` codec writes (``json.dumps``, ASCII-escaped), so a
    look-up finds what earlier versions stored; values are written by pydantic-core, which
    leaves non-ASCII text unescaped: other bytes, the same JSON."""

    def __init__(self, app: faust.App, name: str, **options: Any):
        # bytes: the raw codec; a dict of its own: faust's store takes keys out of the one it is given
        self.table = app.Table(name, key_type=bytes, value_type=bytes, options=dict(ROCKSDB_OPTIONS), **options)

    def __getitem__(self, key: str) -> Any:
        return from_json(self.table[_key(key)])

    def __setitem__(self, key: str, value: Any) -> None:
        self.table[_key(key)] = to_json(value)

    def __delitem__(self, key: str) -> None:
        del self.table[_key(key)]

    def __contains__(self, key: object) -> bool:
        return _key(key) in self.table

    def __iter__(self) -> Iterator[str]:
        return (json.loads(key) for key in self.table)

    def __len__(self) -> int:
        return len(self.table)

    def get(self, key: str, default: Any = None) -> Any:
        raw = self.table.get(_key(key))
        return default if raw is None else from_json(raw)


def _key(key: object) -> bytes:
    return json.dumps(key).encode()
