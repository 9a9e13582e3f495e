"""Fixtures every test shares. Integration tests get the real broker and store (see
tests/infrastructure.py) and a fresh namespace: their own topic prefix and database names."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TypeVar

import pytest
from pydantic_settings import BaseSettings

import shared.mongo
from shared import topics
from shared.kafka import ensure_topics
from shared.settings import KAFKA_ADMIN_PRINCIPAL, CommonSettings
from hardtech.namespace import delete_namespace
from tests.infrastructure import Endpoints, endpoints
from tests.support import CommandLog

S = TypeVar("S", bound=BaseSettings)

# The tests run the services in local development mode (public development secrets), as
# `hardtech up` does; tests of the production mode set it explicitly.
os.environ.setdefault("HARDTECH_ENVIRONMENT", "local")
# On a broker that requires SASL (KAFKA_SECURITY_PROTOCOL) the harness's clients and the services
# under test are the operators' principal; tests/integration/test_kafka_access.py tests the others.
os.environ.setdefault("KAFKA_SASL_USERNAME", KAFKA_ADMIN_PRINCIPAL)


@pytest.fixture(scope="session")
def infra() -> Iterator[Endpoints]:
    with endpoints() as found:
        yield found


@pytest.fixture
def namespace() -> str:
    """A short unique prefix for this test's topics, consumer groups and databases."""
    return f"t{uuid.uuid4().hex[:10]}-"


@pytest.fixture
async def make_settings(infra: Endpoints, namespace: str) -> AsyncIterator[Callable[..., BaseSettings]]:
    """Build any settings class pointed at the test infrastructure and this test's namespace;
    afterwards the namespace's topics and databases are deleted, so the broker and the store
    stay small over a long run."""

    def build(cls: type[S], **overrides: object) -> S:
        values: dict[str, object] = {
            "kafka_bootstrap_servers": infra.kafka_bootstrap_servers,
            "mongodb_uri": infra.mongodb_uri,
            "topic_prefix": namespace,
        }
        if "database" in cls.model_fields:
            default_db = cls.model_fields["database"].default
            values["database"] = database_name(namespace, default_db)
        values.update(overrides)
        return cls(**values)

    yield build
    await delete_namespace(infra.kafka_bootstrap_servers, infra.mongodb_uri, namespace)


def database_name(namespace: str, name: str) -> str:
    return f"{namespace.rstrip('-')}_{name}"[:60]


@pytest.fixture
async def common_settings(make_settings: Callable[..., BaseSettings]) -> CommonSettings:
    return make_settings(CommonSettings)


@pytest.fixture
async def registry_topics(common_settings: CommonSettings) -> AsyncIterator[CommonSettings]:
    """Every topic of the registry, created under this test's prefix."""
    await ensure_topics(common_settings, topics.ALL)
    yield common_settings


@pytest.fixture
def mongo_commands(monkeypatch: pytest.MonkeyPatch) -> CommandLog:
    """The commands of every MongoDB client a service makes through ``shared.mongo.make_client``."""
    log = CommandLog()
    make_client = shared.mongo.make_client
    monkeypatch.setattr(shared.mongo, "make_client",
                        lambda uri, **options: make_client(uri, event_listeners=[log], **options))
    return log
