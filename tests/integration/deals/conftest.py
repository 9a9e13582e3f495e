"""Fixtures of the deals integration tests: the service in-process on the real broker and store,
tokens, and a producer that publishes what other services would (items, matches, feedback, agendas)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from services.deals.app import create_app
from services.deals.settings import Settings
from shared import topics
from shared.auth import Role, issue_token
from shared.events import CloudEvent, new_event
from shared.events.common import LocalizedText
from shared.events.listing import ItemData, ItemStatus
from shared.events.matching import (
    AgendaData,
    AgendaSlot,
    Explanation,
    FeatureScore,
    FeedbackDecision,
    MatchData,
    MatchFeedbackData,
    MatchSide,
    Meeting,
)
from shared.events.sessions import RegistrationStatus
from shared.kafka import Producer
from shared.party_types import Kind, PartyType, Side
from tests.support import running
from tests.unit.notification import samples

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
UNI, ENT, HOST = "p_deal_uni", "p_deal_ent", "p_deal_gov"
CONTRACT = {"contract_type": "licence", "amount": "1200000.50", "currency": "CNY", "transfer_mode": "licence",
            "field": "5G", "region": "CN-SC.CD", "signed_on": "2026-12-01"}


@pytest.fixture
def settings(registry_topics, make_settings) -> Settings:
    return make_settings(Settings)


@pytest.fixture
def bearer(settings: Settings) -> Callable[..., dict[str, str]]:
    def headers(participant_id: str, party_type: PartyType = PartyType.ENTERPRISE,
                organiser: bool = False) -> dict[str, str]:
        roles = frozenset({Role.ORGANISER}) if organiser else frozenset()
        return {"authorization": f"Bearer {issue_token(settings, participant_id, party_type, roles)[0]}"}

    return headers


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_app(settings)) as http:
        yield http


def item(item_id: str, side: Side, owner_id: str, party_type: PartyType, fields: list[str], region: str) -> CloudEvent:
    data = ItemData(id=item_id, side=side, kind=Kind.TECHNOLOGY, owner_id=owner_id, owner_party_type=party_type,
                    title=LocalizedText(zh="毫米波射频芯片"), fields=fields, region=region, status=ItemStatus.OPEN,
                    created_at=T0, updated_at=T0, version=1)
    kind = "listing" if side is Side.OFFER else "demand"
    return new_event(f"{kind}.created.v1", data, source="/tests", subject=item_id)


def match(match_id: str, offer_id: str, need_id: str, offer_owner: str = UNI) -> CloudEvent:
    """A match between the university's offer and the enterprise's need."""
    def side(item_id: str, owner_id: str, party_type: PartyType) -> MatchSide:
        return MatchSide(item_id=item_id, owner_id=owner_id, party_type=party_type, title=LocalizedText(zh=f"射频芯片 {item_id}"))

    data = MatchData(match_id=match_id, kind=Kind.TECHNOLOGY, offer=side(offer_id, offer_owner, PartyType.UNIVERSITY),
                     need=side(need_id, ENT, PartyType.ENTERPRISE), score=0.8,
                     features=[FeatureScore(name="fields", value=1.0, weight=0.5, contribution=0.5)],
                     explanation=Explanation(zh=["领域一致：5G通信"], en=["Same field: 5G communications"]))
    return new_event("match.created.v1", data, source="/services/matching", subject=match_id)


def accepted(match_id: str, participant_id: str) -> CloudEvent:
    data = MatchFeedbackData(match_id=match_id, participant_id=participant_id, decision=FeedbackDecision.ACCEPT)
    return new_event("match.feedback_given.v1", data, source="/services/matching", subject=match_id)


def agenda(session_id: str, match_id: str, offer_owner: str = UNI) -> CloudEvent:
    data = AgendaData(session_id=session_id, version=1,
                      slots=[AgendaSlot(index=0, starts_at=T0, ends_at=T0.replace(minute=20))],
                      meetings=[Meeting(slot=0, table=0, participant_ids=(offer_owner, ENT), match_id=match_id,
                                        score=0.8)])
    return new_event("agenda.published.v1", data, source="/services/matching", subject=session_id)


def session(session_id: str, organiser_id: str) -> CloudEvent:
    data = samples.session(session_id).data.model_copy(update={"organiser_id": organiser_id})
    return new_event("session.created.v1", data, source="/services/events_sessions", subject=session_id)


def checked_in(session_id: str, participant_id: str) -> CloudEvent:
    """A participant checked in at a session (the organiser scanned its code at the door)."""
    data = samples.registration("registration.confirmed.v1", participant_id, session_id).data.model_copy(
        update={"status": RegistrationStatus.CHECKED_IN})
    return new_event("registration.checked_in.v1", data, source="/services/events_sessions", subject=session_id)


def named(participant_id: str, organisation: str, display_name: str) -> CloudEvent:
    """A participant's profile as the listing service publishes it."""
    data = samples.participant(participant_id).data.model_copy(update={
        "organisation": LocalizedText(zh=organisation), "display_name": LocalizedText(zh=display_name)})
    return new_event("participant.registered.v1", data, source="/services/listing", subject=participant_id)


@pytest.fixture
async def publish(settings: Settings) -> AsyncIterator[Callable[..., Any]]:
    """Publish events as the other services would, on their registry topics, keyed by subject."""
    producer = Producer(settings, client_id="test-deals-inputs")

    async def send(*events: CloudEvent) -> None:
        for event in events:
            topic = topics.topic_of_event(event.type).full_name(settings.topic_prefix)
            await producer.send_event(topic, event, key=event.subject or "")

    yield send
    await producer.stop()
