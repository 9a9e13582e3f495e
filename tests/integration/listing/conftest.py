"""One listing app per test module (in-process, real Kafka and FerretDB), with helpers that
register participants and get their tokens."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, ConsumerRecord
import pytest
from fastapi import FastAPI

from services.listing.app import create_app
from services.listing.settings import Settings
from shared import topics
from shared.kafka import ensure_topics
from shared.mongo import make_client
from shared.topics import TopicSpec
from tests.infrastructure import Endpoints
from tests.support import running


def listing_settings(infra: Endpoints, **overrides: Any) -> Settings:
    prefix = f"t{uuid.uuid4().hex[:10]}-"
    values: dict[str, Any] = {"kafka_bootstrap_servers": infra.kafka_bootstrap_servers,
                              "mongodb_uri": infra.mongodb_uri, "topic_prefix": prefix,
                              "database": f"{prefix.rstrip('-')}_listing", "relay_poll_seconds": 0.2,
                              # Tests register many participants from one address and e-mail; the
                              # sign-up limits have tests of their own.
                              "signup_rate_per_ip": 10_000, "signup_rate_per_email": 10_000}
    return Settings(**{**values, **overrides})


@pytest.fixture(scope="module")
async def settings(infra: Endpoints) -> AsyncIterator[Settings]:
    settings = listing_settings(infra)
    await ensure_topics(settings, topics.ALL)
    yield settings
    mongo = make_client(settings.mongodb_uri)
    await mongo.drop_database(settings.database)
    await mongo.close()


@pytest.fixture(scope="module")
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture(scope="module")
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with running(app) as client:
        yield client


def participant_body(party_type: str = "university", **overrides: Any) -> dict[str, Any]:
    return {
        "party_type": party_type,
        "organisation": {"zh": "电子科技大学", "en": "UESTC"},
        "display_name": {"zh": "技术转移中心", "en": "Technology Transfer Office"},
        "region": "CN-SC.CD",
        "fields": ["EIT.IC", "5G"],
        "language": "zh-CN",
        "email": "tto@example.edu.cn",
        **overrides,
    }


def item_body(kind: str = "technology", **overrides: Any) -> dict[str, Any]:
    return {
        "kind": kind,
        "title": {"zh": "基于氮化镓的5G射频前端芯片", "en": "GaN RF front-end chip for 5G"},
        "description": {"zh": "面向基站的高效率功率放大器", "en": "High-efficiency power amplifier for base stations"},
        "fields": ["5G.RF"],
        "keywords": ["GaN", "功率放大器"],
        "trl": 6,
        "transfer_modes": ["licence", "joint_development"],
        "amount": {"min": 1_000_000, "max": 5_000_000},
        "region": "CN-SC.CD",
        **overrides,
    }


@dataclass
class Party:
    id: str
    api_key: str
    headers: dict[str, str]
    profile: dict[str, Any]


async def register(client: httpx.AsyncClient, party_type: str = "university", **overrides: Any) -> Party:
    response = await client.post("/participants", json=participant_body(party_type, **overrides))
    assert response.status_code == 201, response.text
    profile = response.json()
    token = await client.post("/auth/token", json={"api_key": profile["api_key"]})
    assert token.status_code == 200, token.text
    return Party(profile["id"], profile["api_key"], {"Authorization": f"Bearer {token.json()['access_token']}"},
                 profile)


def operator_headers(settings: Settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {settings.operator_secret()}"}


async def events_of(settings: Settings, spec: TopicSpec, key: str, *, count: int,
                    timeout: float = 20.0) -> list[ConsumerRecord]:
    """The first ``count`` records keyed ``key`` on a topic shared with other tests' entities."""
    consumer = AIOKafkaConsumer(spec.full_name(settings.topic_prefix), bootstrap_servers=settings.kafka_bootstrap_servers,
                                auto_offset_reset="earliest", enable_auto_commit=False, group_id=None,
                                **settings.kafka_client_options())
    await consumer.start()
    found: list[ConsumerRecord] = []
    deadline = time.monotonic() + timeout
    try:
        while len(found) < count and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=300)).values():
                found += [r for r in records if r.key == key.encode()]
    finally:
        await consumer.stop()
    assert len(found) >= count, f"expected {count} events keyed {key}, got {len(found)} in {timeout}s"
    return found
