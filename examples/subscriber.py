"""An example subscriber of Hard-Tech Express's public topics (docs/subscribers.md).

It reads CloudEvents by the Kafka protocol binding (structured mode: the ``content-type`` header is
``application/cloudevents+json`` and the value is the whole JSON event), handles each event once
by its ``id`` (a SQLite file remembers the ids handled, so a redelivery or a replay changes
nothing), and commits its consumer group's offsets only after handling: a crash replays, and the
ids make the replay harmless. Here "handling" prints one JSON line per new event.

    set -a; . ./acme-stats.env; set +a   # what `hardtech subscriber add acme-stats …` printed
    python examples/subscriber.py --group acme-stats.main --topics matches,consortia --seen seen.db
    python examples/subscriber.py --group acme-stats.replay --from-beginning --until-end ...

Only aiokafka is needed (``pip install aiokafka``). The connection comes from the environment as
the operator's command prints it (``KAFKA_BOOTSTRAP_SERVERS``, ``KAFKA_SECURITY_PROTOCOL``,
``KAFKA_SASL_MECHANISM``, ``KAFKA_SASL_USERNAME``, ``KAFKA_SASL_PASSWORD``; ``KAFKA_SSL_CAFILE``
for a cluster over TLS), or from the options of the same names; the password only from the
environment.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import sys

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from aiokafka.errors import KafkaError
from aiokafka.helpers import create_ssl_context

STRUCTURED = b"application/cloudevents+json"
PUBLIC_TOPICS = "sessions,matches,consortia,agendas"


class SeenIds:
    """The ids of events already handled, kept across runs: the subscriber's idempotency."""

    def __init__(self, path: str):
        self._db = sqlite3.connect(path)
        self._db.execute("CREATE TABLE IF NOT EXISTS seen (id TEXT PRIMARY KEY)")

    def first_time(self, event_id: str) -> bool:
        with self._db:
            return self._db.execute("INSERT OR IGNORE INTO seen (id) VALUES (?)", (event_id,)).rowcount == 1


def event_of(record: ConsumerRecord) -> dict | None:
    """The CloudEvent a record carries, by its headers first; None for anything else."""
    if dict(record.headers).get("content-type") != STRUCTURED:
        return None
    try:
        event = json.loads(record.value)
    except ValueError:
        return None
    return event if isinstance(event, dict) and isinstance(event.get("id"), str) else None


def handle(event: dict, record: ConsumerRecord) -> None:
    """What a real subscriber does with an event; here: one JSON line on stdout."""
    print(json.dumps({"id": event["id"], "type": event.get("type"), "subject": event.get("subject"),
                      "topic": record.topic, "key": record.key.decode() if record.key else None}), flush=True)


def consumer_of(args: argparse.Namespace) -> AIOKafkaConsumer:
    security: dict = {"security_protocol": args.security_protocol}
    if args.security_protocol.startswith("SASL"):
        security.update(sasl_mechanism=args.sasl_mechanism, sasl_plain_username=args.username,
                        sasl_plain_password=os.environ.get("KAFKA_SASL_PASSWORD", ""))
    if args.security_protocol.endswith("SSL"):
        security["ssl_context"] = create_ssl_context(cafile=args.ca_file)
    return AIOKafkaConsumer(
        *[args.topic_prefix + t for t in args.topics.split(",") if t],
        bootstrap_servers=args.bootstrap_servers, group_id=args.group, enable_auto_commit=False,
        auto_offset_reset="earliest" if args.from_beginning else "latest", **security)


async def caught_up(consumer: AIOKafkaConsumer, ends: dict) -> bool:
    """Whether every assigned partition was read up to where it ended when it was assigned."""
    assigned = consumer.assignment()
    if not assigned:
        return False
    missing = [tp for tp in assigned if tp not in ends]
    if missing:
        ends.update(await consumer.end_offsets(missing))
    return all([await consumer.position(tp) >= ends[tp] for tp in assigned])


async def run(args: argparse.Namespace) -> None:
    seen = SeenIds(args.seen)
    consumer = consumer_of(args)
    ends: dict = {}
    try:
        await consumer.start()
        while not (args.until_end and await caught_up(consumer, ends)):
            batches = await consumer.getmany(timeout_ms=500, max_records=500)
            for records in batches.values():
                for record in records:
                    event = event_of(record)
                    if event is None:
                        print(f"skipped {record.topic}[{record.partition}]@{record.offset}: not a structured "
                              "CloudEvent", file=sys.stderr)
                    elif seen.first_time(event["id"]):
                        handle(event, record)
            if batches:
                await consumer.commit()  # after handling: at least once, made once by the ids
    finally:
        await consumer.stop()


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Read Hard-Tech Express's public events, each once by its id.")
    parser.add_argument("--bootstrap-servers", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    parser.add_argument("--topics", default=PUBLIC_TOPICS, help=f"comma-separated (default: {PUBLIC_TOPICS})")
    parser.add_argument("--topic-prefix", default="", help="the deployment's HARDTECH_TOPIC_PREFIX, if any")
    parser.add_argument("--group", required=True, help="your consumer group, under your own prefix")
    parser.add_argument("--seen", default="seen-events.db", help="SQLite file of the event ids handled")
    parser.add_argument("--from-beginning", action="store_true",
                        help="a new group starts at the oldest record kept (replay) instead of new records only")
    parser.add_argument("--until-end", action="store_true",
                        help="stop once the records there were at the start are read, instead of running on")
    parser.add_argument("--security-protocol", default=os.environ.get("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT"),
                        choices=["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"])
    parser.add_argument("--sasl-mechanism", default=os.environ.get("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512"),
                        choices=["SCRAM-SHA-256", "SCRAM-SHA-512"])
    parser.add_argument("--username", default=os.environ.get("KAFKA_SASL_USERNAME"),
                        help="your principal (its password in KAFKA_SASL_PASSWORD)")
    parser.add_argument("--ca-file", default=os.environ.get("KAFKA_SSL_CAFILE"),
                        help="the CA certificate that signed the brokers' certificates")
    args = parser.parse_args(argv)
    if args.security_protocol.startswith("SASL") and not args.username:
        parser.error(f"--username is required with --security-protocol {args.security_protocol}")
    return args


if __name__ == "__main__":
    try:
        asyncio.run(run(arguments()))
    except KeyboardInterrupt:
        pass
    except (KafkaError, OSError) as exc:  # unreachable brokers, refused credentials, an unreadable CA file
        sys.exit(f"subscriber.py: {type(exc).__name__}: {exc}")
