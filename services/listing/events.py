"""Kafka adapter: the events of the listing service, staged in the outbox and published by the
relay. Every event is a full snapshot of its entity, keyed by the entity id."""

from __future__ import annotations

from typing import Any

from shared import topics
from shared.events import new_event
from shared.events.listing import ItemData, ParticipantData
from shared.outbox import entry
from shared.party_types import Side

SOURCE = "/services/listing"
ITEM_TOPICS = {Side.OFFER: (topics.LISTINGS, "listing"), Side.NEED: (topics.DEMANDS, "demand")}


def participant_event(participant: ParticipantData, verb: str) -> dict[str, Any]:
    """``verb`` is registered or updated. The snapshot holds no secret: the API key hash is not in it."""
    event = new_event(f"participant.{verb}.v1", participant, source=SOURCE, subject=participant.id)
    return entry(event, topics.PARTICIPANTS, participant.id)


def item_event(item: ItemData, verb: str) -> dict[str, Any]:
    """``verb`` is created, updated, withdrawn or expired."""
    topic, entity = ITEM_TOPICS[item.side]
    event = new_event(f"{entity}.{verb}.v1", item, source=SOURCE, subject=item.id)
    return entry(event, topic, item.id)
