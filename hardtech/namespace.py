"""Throw-away namespaces on a shared broker and store, as tests and benchmarks use them: a topic
prefix (topics and consumer groups) and the databases named after it. The Kafka security settings
come from the environment: the operators' principal on a broker that requires SASL."""

from __future__ import annotations

import logging

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from pymongo.errors import PyMongoError

from shared.mongo import make_client
from shared.settings import CommonSettings

log = logging.getLogger(__name__)


async def delete_namespace(kafka_bootstrap_servers: str, mongodb_uri: str, namespace: str) -> None:
    """Delete the topics under ``namespace`` (the registry's and faust's own: a broker keeps every
    partition's files open, and runs that leave theirs behind exhaust its file descriptors) and
    the databases named after it (FerretDB sizes every database whenever databases are listed).
    Best effort, each store on its own: a run that stopped the broker or the store must not fail
    its own clean-up; what is left is logged."""
    security = CommonSettings(kafka_bootstrap_servers=kafka_bootstrap_servers).kafka_client_options()
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap_servers, request_timeout_ms=30_000, **security)
    try:
        await admin.start()
        if doomed := [name for name in await admin.list_topics() if name.startswith(namespace)]:
            await admin.delete_topics(doomed, timeout_ms=30_000)
    except (KafkaError, OSError) as exc:
        log.warning("topics of %s left behind: %s", namespace, exc)
    finally:
        await admin.close()
    mongo = make_client(mongodb_uri)
    try:
        for database in await mongo.list_database_names():
            if database.startswith(namespace.rstrip("-")):
                await mongo.drop_database(database)
    except PyMongoError as exc:
        log.warning("databases of %s left behind: %s", namespace, exc)
    finally:
        await mongo.close()
