"""Fixtures of the events_sessions integration tests: the service in-process on the real broker
and store, a clock the test moves, tokens, session bodies and listings published to Kafka."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from services.events_sessions.app import create_app
from services.events_sessions.settings import Settings
from shared import topics
from shared.auth import Role, issue_token
from shared.events import new_event
from shared.events.common import LocalizedText
from shared.events.listing import ItemData, ItemStatus
from shared.kafka import Producer
from shared.party_types import ORGANISER_TYPES, Kind, PartyType, Side
from tests.support import running, wait_for

T0 = datetime(2030, 5, 1, 9, 0, tzinfo=UTC)


@dataclass
class Clock:
    """The service's clock: a fixed time that tests move forward."""

    now: datetime = field(default_factory=lambda: T0 - timedelta(days=10))

    def __call__(self) -> datetime:
        return self.now


def session_body(**overrides: Any) -> dict[str, Any]:
    """A valid session: starts at T0 in Chengdu's high-tech zone, registration open until T0 - 1 day."""
    body: dict[str, Any] = {
        "title": {"zh": "科技成果直通车·硬科技专场（成都）", "en": "S&T Express hard-tech session, Chengdu"},
        "fields": ["5G", "IMFG.ROB"], "city": "CN-SC.CD", "high_tech_zone": "CDHT",
        "industrial_cluster": "电子信息产业集群", "venue": "成都高新区菁蓉汇",
        "starts_at": T0.isoformat(), "ends_at": (T0 + timedelta(hours=8)).isoformat(),
        "registration_opens_at": (T0 - timedelta(days=20)).isoformat(),
        "registration_closes_at": (T0 - timedelta(days=1)).isoformat(),
        "capacity": {"presenters": 5, "attendees": 50},
        "meeting_plan": {"first_slot_at": (T0 + timedelta(hours=2)).isoformat(), "slot_minutes": 20, "slots": 6,
                         "tables": 10},
    }
    body.update(overrides)
    return body


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(registry_topics, make_settings) -> Settings:
    return make_settings(Settings, closer_interval_seconds=0.2)


@pytest.fixture
def bearer(settings: Settings) -> Callable[..., dict[str, str]]:
    def headers(participant_id: str, party_type: PartyType = PartyType.ENTERPRISE) -> dict[str, str]:
        """A participant's token; a government or agency participant's as a verified organiser's."""
        roles = frozenset({Role.ORGANISER}) if party_type in ORGANISER_TYPES else frozenset()
        return {"authorization": f"Bearer {issue_token(settings, participant_id, party_type, roles)[0]}"}

    return headers


@pytest.fixture
def organiser(bearer) -> dict[str, str]:
    return bearer("gov-chengdu", PartyType.GOVERNMENT)


@pytest.fixture
async def client(settings: Settings, clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_app(settings, clock=clock)) as http:
        yield http


@pytest.fixture
async def new_session(client: httpx.AsyncClient, organiser) -> Callable[..., Any]:
    async def create(**overrides: Any) -> dict[str, Any]:
        response = await client.post("/sessions", json=session_body(**overrides), headers=organiser)
        assert response.status_code == 201, response.text
        return response.json()

    return create


@pytest.fixture
async def publish_listing(settings: Settings, client: httpx.AsyncClient) -> AsyncIterator[Callable[..., Any]]:
    """Publish a listing snapshot on the listings topic and wait until the service has it."""
    producer = Producer(settings, client_id="test-listings")
    app = client._transport.app  # type: ignore[attr-defined]

    async def publish(listing_id: str, owner_id: str, status: ItemStatus = ItemStatus.OPEN, version: int = 1) -> None:
        item = ItemData(id=listing_id, side=Side.OFFER, kind=Kind.TECHNOLOGY, owner_id=owner_id,
                        owner_party_type=PartyType.UNIVERSITY, title=LocalizedText(zh="毫米波射频芯片"),
                        fields=["5G.RF"], status=status, created_at=T0, updated_at=T0, version=version)
        event = new_event(f"listing.{'created' if version == 1 else 'updated'}.v1", item,
                          source="/tests", subject=listing_id)
        await producer.send_event(topics.LISTINGS.full_name(settings.topic_prefix), event, key=listing_id)
        store = app.state.sessions.store

        async def stored() -> bool:
            document = await store.listings.find_one({"_id": listing_id})
            return document is not None and document["version"] >= version

        await wait_for(stored, what=f"listing {listing_id} v{version} in the read model")

    yield publish
    await producer.stop()
