"""A small faust-streaming app for the stack smoke test: it counts per key in a table (RocksDB
store, changelog topic), writes each total to MongoDB with AsyncMongoClient, and produces it.

Run as ``python -m tests.integration.smoke_app worker`` with SMOKE_PREFIX, SMOKE_DATADIR,
KAFKA_BOOTSTRAP_SERVERS and MONGODB_URI in the environment."""

from __future__ import annotations

import json
import os

import faust

from shared.faust_app import reliable_app, sasl_credentials
from shared.mongo import make_client
from shared.settings import CommonSettings

PREFIX = os.environ["SMOKE_PREFIX"]

app = reliable_app(
    f"{PREFIX}smoke",
    bootstrap_servers=os.environ["KAFKA_BOOTSTRAP_SERVERS"],
    credentials=sasl_credentials(CommonSettings()),
    store="rocksdb://",
    datadir=os.environ["SMOKE_DATADIR"],
    web_enabled=False,
    topic_partitions=1,
    topic_replication_factor=1,
    producer_acks=-1,
)
source = app.topic(f"{PREFIX}smoke-in", value_serializer="raw", key_serializer="raw")
sink = app.topic(f"{PREFIX}smoke-out", value_serializer="raw", key_serializer="raw")
totals = app.Table("totals", default=int, partitions=1)
mongo = make_client(os.environ["MONGODB_URI"])


@app.agent(source)
async def count(stream: faust.Stream) -> None:
    async for message in stream:
        body = json.loads(message)
        totals[body["key"]] += body["n"]
        total = totals[body["key"]]
        await mongo[f"{PREFIX}smoke"]["totals"].replace_one({"_id": body["key"]}, {"total": total}, upsert=True)
        await sink.send(key=body["key"].encode(), value=json.dumps({"key": body["key"], "total": total}).encode())


if __name__ == "__main__":
    app.main()
