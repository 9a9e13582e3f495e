"""The whole stack in one test: aiokafka → a faust agent with a RocksDB table → MongoDB through
AsyncMongoClient and another topic → aiokafka; then the agent's process is replaced and its
table recovered from the changelog (the local store is deleted, so nothing else can supply it)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from shared.kafka import ensure_topics
from shared.mongo import make_client
from shared.settings import CommonSettings
from shared.topics import TopicSpec
from tests.support import read_records, wait_for

pytestmark = pytest.mark.integration


def _start_worker(settings: CommonSettings, datadir: Path, log: Path) -> subprocess.Popen:
    env = {**os.environ, "SMOKE_PREFIX": settings.topic_prefix, "SMOKE_DATADIR": str(datadir),
           "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers, "MONGODB_URI": settings.mongodb_uri}
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", "tests.integration.smoke_app", "worker", "-l", "info"],
                                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


async def _send(settings: CommonSettings, *values: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all",
                                **settings.kafka_client_options())
    await producer.start()
    try:
        for n in values:
            await producer.send_and_wait(f"{settings.topic_prefix}smoke-in", json.dumps({"key": "k", "n": n}).encode(),
                                         key=b"k")
    finally:
        await producer.stop()


async def _totals(settings: CommonSettings, count: int) -> list[int]:
    records = await read_records(settings.kafka_bootstrap_servers, f"{settings.topic_prefix}smoke-out",
                                 count=count, timeout=180)  # a restarted worker on a busy machine first recovers its table
    return [json.loads(r.value)["total"] for r in records]


async def test_faust_table_mongodb_and_kafka_round_trip_survives_restart(common_settings: CommonSettings,
                                                                          tmp_path: Path):
    settings = common_settings
    await ensure_topics(settings, [TopicSpec("smoke-in", "k", "smoke input", partitions=1),
                                   TopicSpec("smoke-out", "k", "smoke output", partitions=1)])
    datadir, log = tmp_path / "faust", tmp_path / "worker.log"
    mongo = make_client(settings.mongodb_uri)
    totals = mongo[f"{settings.topic_prefix}smoke"]["totals"]

    worker = _start_worker(settings, datadir, log)
    try:
        await _send(settings, 1, 2, 3)
        assert await _totals(settings, 3) == [1, 3, 6], log.read_text()[-2000:]
        assert (await totals.find_one({"_id": "k"}))["total"] == 6
    finally:
        worker.terminate()  # a clean stop commits the input offsets; replays are not under test here
        worker.wait(timeout=60)

    shutil.rmtree(datadir)  # the table can now only come back from its changelog topic
    worker = _start_worker(settings, datadir, log)
    try:
        await _send(settings, 10)
        assert (await _totals(settings, 4))[-1] == 16, log.read_text()[-2000:]
        await wait_for(lambda: totals.find_one({"_id": "k", "total": 16}), what="the recovered total in MongoDB")
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        await mongo.close()
