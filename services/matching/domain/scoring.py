"""Deterministic, explainable scoring of an (offer, need) pair.

A pair first passes the hard rules (``Rule``, ``broken_rule``; the evidence rule needs the text
model, so ``feature_values`` applies it); then seven features, each in [0, 1], are
weighted and summed (the weights sum to 1, so the score is in [0, 1]); declines of similar
matches may lower the sum by a factor (see ``feedback``). That is the *content score*, which the
threshold is tested on; a deal-outcome prior (``priors``) may then move the score that ranks,
by at most ±0.05. The same inputs always give the same numbers (``ScoredPair``), which
``explanation`` renders into score parts and lines in zh and en.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from struct import Struct
from sys import intern

from shared import regions, taxonomy
from shared.events.common import MoneyRange
from shared.events.listing import ItemData, ItemStatus
from shared.events.matching import match_id
from shared.party_types import Kind, PartyType, Side, may_post

from services.matching.domain import priors as conversion
from services.matching.domain.feedback import FeedbackPenalties
from services.matching.domain.text import TextModel

# The weights of the features. What the pair is about (field and text) carries 0.8, how well the
# terms fit (the practical features) 0.2 in all: they reorder partners of similar relevance but
# cannot outweigh a shared sub-field (0.3). The small weight beyond field and text is also what
# lets the index stop early (see index.top_partners).
WEIGHTS: dict[str, float] = {
    "field": 0.30,  # 1 same sub-field (exact code), 0.5 same top-level field, 0 otherwise
    "text": 0.50,  # BM25 of the offer against the need, zh + en (see text.py)
    "trl": 0.07,  # 1 when the offer meets the need's minimum, 0.5 when the offer states no TRL
    "amount": 0.04,  # 1 when price / ticket and budget overlap (or one is not given), 0.5 in two currencies
    "region": 0.04,  # proximity to each side's region preference; none means no penalty
    "party": 0.02,  # how typical the pair of party types is for the kind
    "freshness": 0.03,  # halves every FRESHNESS_HALF_LIFE_DAYS since the older side's update
}
FEATURES: tuple[str, ...] = tuple(WEIGHTS)
PRACTICAL: tuple[str, ...] = FEATURES[2:]  # all but field and text: what the index cannot rank by
_PRACTICAL_WEIGHTS = tuple(WEIGHTS[name] for name in PRACTICAL)
WEIGHT_BEYOND_INDEX = sum(_PRACTICAL_WEIGHTS)

SAME_TOP_LEVEL = 0.5
UNKNOWN = 0.5  # the value of a feature one side leaves unknown while the other constrains it
FRESHNESS_HALF_LIFE_DAYS = 90.0

PROXIMITY_FIT: dict[regions.Proximity, float] = {
    regions.Proximity.SAME_CITY: 1.0,
    regions.Proximity.SAME_PROVINCE: 0.85,
    regions.Proximity.SAME_STRATEGY: 0.7,
    regions.Proximity.SAME_CENTRE: 0.55,
    regions.Proximity.ELSEWHERE: 0.2,
}

_TYPICAL: dict[Kind, dict[tuple[PartyType, PartyType], float]] = {
    Kind.TECHNOLOGY: {
        (PartyType.UNIVERSITY, PartyType.ENTERPRISE): 1.0,
        (PartyType.INSTITUTE, PartyType.ENTERPRISE): 1.0,
        (PartyType.ENTERPRISE, PartyType.ENTERPRISE): 0.9,
        (PartyType.UNIVERSITY, PartyType.GOVERNMENT): 0.8,
        (PartyType.INSTITUTE, PartyType.GOVERNMENT): 0.8,
        (PartyType.ENTERPRISE, PartyType.GOVERNMENT): 0.8,
    },
    Kind.SERVICE: {(PartyType.AGENCY, need): 1.0 for need in PartyType},
    Kind.CAPITAL: {(PartyType.INVESTOR, need): 1.0
                   for need in (PartyType.ENTERPRISE, PartyType.UNIVERSITY, PartyType.INSTITUTE)},
    Kind.POLICY: {(PartyType.GOVERNMENT, PartyType.ENTERPRISE): 1.0},
}
ATYPICAL_PARTIES = 0.7


@dataclass(frozen=True, slots=True)
class ScoredPair:
    """A scored pair as numbers: what the engine keeps per match. Its score parts and explanation
    (zh and en) are rendered from these and the two items by ``explanation.render`` when the
    match is sent or read; none of its text is kept."""

    match_id: str
    offer: ItemData  # the versions scored: a match not re-sent keeps showing what was sent
    need: ItemData
    score: float  # what ranks: the content score moved by the pair's prior (``with_prior``)
    content: float  # the features' weighted sum after a decline penalty: what the threshold is tested on
    values: bytes  # the features in ``FEATURES`` order, unrounded, packed (``feature_values``)
    factor: float  # the decline penalty's multiplier (1: none)
    prior: float  # the deal-outcome prior added to the content score (0: none)
    bound: float  # with a prior: the most one moves a score (``ConversionPriors.bound``), the part's weight
    terms: tuple[str, ...]  # the shared terms an explanation names: Chinese ones first, then Latin-script

    @property
    def named_values(self) -> dict[str, float]:
        """The feature values by name."""
        return dict(zip(FEATURES, _VALUES.unpack(self.values), strict=True))

    @property
    def kind(self) -> Kind:
        return self.offer.kind


_VALUES = Struct(f"{len(FEATURES)}d")


def with_prior(content: float, prior: float) -> float:
    """The ranking score of a pair of ``content`` score and ``prior``, within [0, 1]."""
    return round(min(1.0, max(0.0, content + prior)), 6) if prior else content


def is_live(item: ItemData, now: datetime) -> bool:
    return item.status is ItemStatus.OPEN and (item.expires_at is None or item.expires_at > now)


class Rule(StrEnum):
    """The hard rules: a pair breaking one is never scored, so never a match (README: rule table)."""

    SIDES_AND_KIND = "sides_and_kind"  # an offer and a need of the same kind, of two participants
    PARTY_TYPES = "party_types"  # each side's party type may post it (shared.party_types)
    LIVE = "live"  # both open and unexpired
    TRANSFER_MODE = "transfer_mode"  # both stated modes: at least one in common
    TRL_FLOOR = "trl_floor"  # the need's minimum TRL and the offer's TRL stated: offer ≥ minimum
    AMOUNT_RANGES = "amount_ranges"  # price/ticket and budget stated in one currency: the ranges overlap
    REQUIRED_REGION = "required_region"  # a side requiring its region preference: the other is within it
    EVIDENCE = "evidence"  # a shared sub-field, or text relevance of at least TEXT_FLOOR


TEXT_FLOOR = 0.1  # the least text relevance that is evidence without a shared sub-field


def broken_rule(offer: ItemData, need: ItemData, now: datetime) -> Rule | None:
    """The first hard rule the pair breaks, evidence aside (that needs the text model)."""
    if not (offer.side is Side.OFFER and need.side is Side.NEED and offer.kind is need.kind
            and offer.owner_id != need.owner_id):
        return Rule.SIDES_AND_KIND
    if not (may_post(offer.owner_party_type, Side.OFFER, offer.kind)
            and may_post(need.owner_party_type, Side.NEED, need.kind)):
        return Rule.PARTY_TYPES
    if not (is_live(offer, now) and is_live(need, now)):
        return Rule.LIVE
    if offer.transfer_modes and need.transfer_modes and set(offer.transfer_modes).isdisjoint(need.transfer_modes):
        return Rule.TRANSFER_MODE
    if need.trl is not None and offer.trl is not None and offer.trl < need.trl:
        return Rule.TRL_FLOOR
    if not amounts_overlap(offer.amount, need.amount):
        return Rule.AMOUNT_RANGES
    if not (region_allowed(need, offer.region) and region_allowed(offer, need.region)):
        return Rule.REQUIRED_REGION
    return None


def amounts_overlap(price: MoneyRange | None, budget: MoneyRange | None) -> bool:
    """False only when both ranges are given in one currency and have no amount in common."""
    if price is None or budget is None or price.currency != budget.currency:
        return True
    return (max(price.min or 0.0, budget.min or 0.0)
            <= min(_upper(price), _upper(budget)))


def _upper(money: MoneyRange) -> float:
    return money.max if money.max is not None else float("inf")


def region_allowed(item: ItemData, partner_region: str | None) -> bool:
    """An item requiring its region preference allows only partners located within it."""
    return preference_allows(tuple(item.region_preference), item.region_required, partner_region)


@lru_cache(maxsize=65536)
def preference_allows(preferences: tuple[str, ...], required: bool, partner_region: str | None) -> bool:
    """Whether a region preference, required or not, allows a partner located in ``partner_region``."""
    if not required or not preferences:
        return True
    return partner_region is not None and regions.is_known(partner_region) and any(
        regions.is_preference(wanted) and regions.covers(wanted, partner_region) for wanted in preferences)


def field_overlap(a: list[str], b: list[str]) -> float:
    if not set(a).isdisjoint(b):
        return 1.0
    tops = {taxonomy.top_level(code) for code in a}
    return SAME_TOP_LEVEL if any(taxonomy.top_level(code) in tops for code in b) else 0.0


def trl_fit(offered: int | None, minimum: int | None) -> float:
    """1 when the offer meets the need's minimum (or none is set), UNKNOWN when the offer states
    none; 0 below it (a hard rule, ``Rule.TRL_FLOOR``, excludes such pairs)."""
    if minimum is None:
        return 1.0
    if offered is None:
        return UNKNOWN
    return 1.0 if offered >= minimum else 0.0


def amount_fit(price: MoneyRange | None, budget: MoneyRange | None) -> float:
    """1 when the ranges overlap or one is not given; UNKNOWN in different currencies. Ranges in
    one currency that do not overlap break ``Rule.AMOUNT_RANGES``."""
    if price is not None and budget is not None and price.currency != budget.currency:
        return UNKNOWN
    return 1.0 if amounts_overlap(price, budget) else 0.0


@lru_cache(maxsize=65536)
def preference_fit(preferences: tuple[str, ...], region: str | None) -> float:
    if not preferences:
        return 1.0
    if region is None or not regions.is_known(region):
        return UNKNOWN
    best = 0.0
    for wanted in preferences:
        if not regions.is_preference(wanted):
            continue
        if regions.covers(wanted, region):
            return 1.0  # a province, city or area was asked for and the item is in it
        if regions.is_known(wanted):
            best = max(best, PROXIMITY_FIT[regions.proximity(wanted, region)])
        else:
            best = max(best, PROXIMITY_FIT[regions.Proximity.ELSEWHERE])
    return best


def region_fit(offer: ItemData, need: ItemData) -> float:
    """Each side's preference against the other side's region, averaged; no preference is 1."""
    return (preference_fit(tuple(need.region_preference), offer.region)
            + preference_fit(tuple(offer.region_preference), need.region)) / 2


def party_fit(offer: ItemData, need: ItemData) -> float:
    return pairing_fit(offer.kind, offer.owner_party_type, need.owner_party_type)


def pairing_fit(kind: Kind, offerer: PartyType, seeker: PartyType) -> float:
    return _TYPICAL[kind].get((offerer, seeker), ATYPICAL_PARTIES)


def freshness(offer: ItemData, need: ItemData, now: datetime) -> float:
    return freshness_after((now - min(offer.updated_at, need.updated_at)).total_seconds() / 86400)


def freshness_after(days: float) -> float:
    """Freshness ``days`` after the older side's update: never increasing with ``days``."""
    return float(0.5 ** (max(0.0, days) / FRESHNESS_HALF_LIFE_DAYS))


_NO_TEXT_STATISTICS = TextModel()


def feature_values(offer: ItemData, need: ItemData, *, now: datetime,
                   text: TextModel | None = None) -> tuple[float, ...] | None:
    """The features in ``FEATURES`` order, or None when the pair breaks a hard rule (``Rule``),
    evidence included: a shared sub-field or text relevance of at least ``TEXT_FLOOR``."""
    if broken_rule(offer, need, now) is not None:
        return None
    field = field_overlap(offer.fields, need.fields)
    relevance = (text or _NO_TEXT_STATISTICS).relevance(offer, need)
    if field < 1.0 and relevance < TEXT_FLOOR:
        return None
    return (field, relevance, *practical_values(offer, need, now))


def practical_values(offer: ItemData, need: ItemData, now: datetime) -> tuple[float, ...]:
    """The features beyond field and text (``PRACTICAL``), cheap to compute: no text involved."""
    return (trl_fit(offer.trl, need.trl), amount_fit(offer.amount, need.amount), region_fit(offer, need),
            party_fit(offer, need), freshness(offer, need, now))


def practical_score(offer: ItemData, need: ItemData, now: datetime) -> float:
    """What the practical features add to the score (at most ``WEIGHT_BEYOND_INDEX``)."""
    return sum(w * v for w, v in zip(_PRACTICAL_WEIGHTS, practical_values(offer, need, now), strict=True))


def pair_score(offer: ItemData, need: ItemData, *, now: datetime, text: TextModel | None = None,
               feedback: FeedbackPenalties | None = None) -> float | None:
    """The content score alone (the fast path used to rank candidates); equals
    ``score_pair(...).content`` (and ``.score`` without priors)."""
    values = feature_values(offer, need, now=now, text=text)
    if values is None:
        return None
    total = sum(WEIGHTS[name] * value for name, value in zip(FEATURES, values, strict=True))
    if feedback:
        total *= feedback.factor(offer, need)
    return round(total, 6)


def score_pair(offer: ItemData, need: ItemData, *, now: datetime, text: TextModel | None = None,
               feedback: FeedbackPenalties | None = None,
               priors: conversion.ConversionPriors | None = None) -> ScoredPair | None:
    """The pair scored, as numbers (``explanation.render`` explains it), or None when it breaks a
    hard rule. A prior is added only here, after every rule passed."""
    values = feature_values(offer, need, now=now, text=text)
    if values is None:
        return None
    factor = feedback.factor(offer, need) if feedback else 1.0
    content = round(sum(WEIGHTS[name] * value for name, value in zip(FEATURES, values, strict=True)) * factor, 6)
    chinese, latin = (text or _NO_TEXT_STATISTICS).shared_terms(offer, need)
    prior = priors.of(offer, need) if priors else 0.0
    return ScoredPair(match_id=match_id(offer.id, need.id), offer=offer, need=need,
                      score=with_prior(content, prior), content=content, values=_VALUES.pack(*values),
                      factor=factor, prior=prior, bound=priors.bound if priors and prior else 0.0,
                      terms=tuple(intern(t) for t in (*chinese, *latin)))
