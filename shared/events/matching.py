"""Events of the matching service: matches, five-party consortia, meeting agendas, feedback."""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum

from pydantic import Field

from shared.events.common import MAX_INT, LocalizedText
from shared.events.deals import PRIOR_CAP
from shared.events.envelope import EventData, event_type
from shared.party_types import Kind, PartyType


def match_id(offer_id: str, need_id: str) -> str:
    """Stable id of the pair, so a replay from the start yields the same ids."""
    return "m_" + hashlib.sha256(f"{offer_id}|{need_id}".encode()).hexdigest()[:24]


# The matching service's output event types.
MATCH_CREATED = "match.created.v1"
MATCH_UPDATED = "match.updated.v1"
MATCH_RETRACTED = "match.retracted.v1"
CONSORTIUM_PROPOSED = "consortium.proposed.v1"
CONSORTIUM_UPDATED = "consortium.updated.v1"
CONSORTIUM_RETRACTED = "consortium.retracted.v1"
AGENDA_PUBLISHED = "agenda.published.v1"
AGENDA_UPDATED = "agenda.updated.v1"


class MatchSide(EventData):
    item_id: str
    owner_id: str
    party_type: PartyType
    title: LocalizedText


class FeatureScore(EventData):
    """One part of a match's score. The ``conversion`` part (deal outcomes of the pair's fields and
    party types, services/matching/domain/priors.py) is the one whose contribution may be negative,
    down to −0.05."""

    name: str
    value: float = Field(ge=0, le=1)
    weight: float = Field(ge=0)
    contribution: float = Field(ge=-PRIOR_CAP)


class Explanation(EventData):
    zh: list[str]
    en: list[str]


@event_type(MATCH_CREATED)
@event_type(MATCH_UPDATED)
class MatchData(EventData):
    match_id: str
    kind: Kind
    offer: MatchSide
    need: MatchSide
    score: float = Field(ge=0, le=1)
    features: list[FeatureScore]
    explanation: Explanation


class RetractReason(StrEnum):
    OFFER_WITHDRAWN = "offer_withdrawn"
    NEED_WITHDRAWN = "need_withdrawn"
    CLOSED = "closed"
    EXPIRED = "expired"
    BELOW_THRESHOLD = "below_threshold"
    DECLINED = "declined"
    OUTRANKED = "outranked"  # a better pair took its place among an item's top-k matches


@event_type(MATCH_RETRACTED)
class MatchRetractedData(EventData):
    match_id: str
    kind: Kind
    offer: MatchSide
    need: MatchSide
    reason: RetractReason
    # Set when one participant declined: the match is retracted for that participant only.
    for_participant: str | None = None


class FeedbackDecision(StrEnum):
    ACCEPT = "accept"
    DECLINE = "decline"


class DeclineReason(StrEnum):
    TOO_EARLY = "too_early_stage"
    NO_CLEAR_BENEFIT = "no_clear_benefit"
    ROUTE_TO_MARKET = "route_to_market_unclear"
    NOT_OUR_FIELD = "not_our_field"
    OTHER = "other"


@event_type("match.feedback_given.v1")
class MatchFeedbackData(EventData):
    match_id: str
    participant_id: str
    decision: FeedbackDecision
    reason: DeclineReason | None = None
    comment: str | None = Field(None, max_length=1000)


class ConsortiumRole(StrEnum):
    TECHNOLOGY_PROVIDER = "technology_provider"
    TECHNOLOGY_SEEKER = "technology_seeker"
    CAPITAL = "capital"
    SERVICE = "service"
    POLICY = "policy"


class ConsortiumMember(EventData):
    role: ConsortiumRole
    participant_id: str
    party_type: PartyType
    item_id: str
    match_id: str | None = None
    score: float | None = Field(None, ge=0, le=1)
    organisation: LocalizedText | None = None  # the member's organisation, as registered
    reason: LocalizedText | None = None  # one line on why the member fits the team


@event_type(CONSORTIUM_PROPOSED)
@event_type(CONSORTIUM_UPDATED)
class ConsortiumData(EventData):
    consortium_id: str
    technology_match_id: str
    members: list[ConsortiumMember]
    missing_roles: list[ConsortiumRole]
    score: float = Field(ge=0, le=1)


@event_type(CONSORTIUM_RETRACTED)
class ConsortiumRetractedData(EventData):
    consortium_id: str
    technology_match_id: str
    participant_ids: list[str]
    reason: str


class AgendaSlot(EventData):
    index: int = Field(ge=0, le=MAX_INT)
    starts_at: datetime
    ends_at: datetime


class Meeting(EventData):
    slot: int = Field(ge=0, le=MAX_INT)
    table: int = Field(ge=0, le=MAX_INT)
    participant_ids: tuple[str, str]
    match_id: str | None = None
    score: float = Field(0.0, ge=0)
    must_meet: bool = False


@event_type(AGENDA_PUBLISHED)
@event_type(AGENDA_UPDATED)
class AgendaData(EventData):
    session_id: str
    version: int = Field(ge=1, le=MAX_INT)
    slots: list[AgendaSlot]
    meetings: list[Meeting]
    unscheduled_must_meet: list[tuple[str, str]] = Field(default_factory=list)
