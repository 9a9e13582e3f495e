"""Deterministic, explainable scoring of an (offer, need) pair.

A pair first passes the hard rules (``Rule``, ``broken_rule``; the evidence rule needs the text
model, so ``feature_values`` applies it); then seven features, each in [0, 1], are
weighted and summed (the weights sum to 1, so the score is in [0, 1]); declines of similar
matches may lower the sum by a factor (see ``feedback``). That is the *content score*, which the
threshold is tested on; a deal-outcome prior (``priors``) may then move the score that ranks,
by at most ±0.05. The same inputs always give the same score, features and explanation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import lru_cache

from shared import regions, taxonomy
from shared.events.common import MoneyRange
from shared.events.listing import TRANSFER_MODE_NAMES, ItemData, ItemStatus, TransferMode
from shared.events.matching import Explanation, FeatureScore, MatchData, MatchSide, match_id
from shared.party_types import PARTY_NAMES, Kind, PartyType, Side, may_post

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


@dataclass(frozen=True)
class ScoredPair:
    score: float  # what ranks: the content score moved by the pair's prior (``with_prior``)
    features: list[FeatureScore]
    explanation: Explanation
    content: float  # the features' weighted sum after a decline penalty: what the threshold is tested on


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
    if not item.region_required or not item.region_preference:
        return True
    return partner_region is not None and regions.is_known(partner_region) and any(
        regions.is_preference(wanted) and regions.covers(wanted, partner_region) for wanted in item.region_preference)


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
    """The pair scored and explained, or None when it breaks a hard rule. A prior is added only
    here, after every rule passed, and shown as the ``conversion`` part and its own line."""
    values = feature_values(offer, need, now=now, text=text)
    if values is None:
        return None
    factor = feedback.factor(offer, need) if feedback else 1.0
    features = [
        FeatureScore(name=name, value=round(value, 6), weight=WEIGHTS[name],
                     contribution=round(WEIGHTS[name] * value * factor, 6))
        for name, value in zip(FEATURES, values, strict=True)
    ]
    content = round(sum(WEIGHTS[name] * value for name, value in zip(FEATURES, values, strict=True)) * factor, 6)
    shared = (text or _NO_TEXT_STATISTICS).shared_terms(offer, need)
    explanation = explain(offer, need, dict(zip(FEATURES, values, strict=True)), shared, factor)
    prior = priors.of(offer, need) if priors else 0.0
    if priors and prior:
        features.append(FeatureScore(name=CONVERSION, value=priors.feature_value(prior), weight=priors.bound,
                                     contribution=prior))
        line = _prior_line(prior)
        explanation = Explanation(zh=[*explanation.zh, line[0]], en=[*explanation.en, line[1]])
    return ScoredPair(score=with_prior(content, prior), features=features, explanation=explanation, content=content)


CONVERSION = "conversion"  # the score part of a deal-outcome prior (``priors``)


def _prior_line(prior: float) -> tuple[str, str]:
    points = f"{abs(prior) * 100:.1f}"
    if prior > 0:
        return (f"同领域同类型合作成交率较高，加 {points} 分",
                f"Deals in this field and party pairing tend to sign: +{points} points")
    return (f"同领域同类型合作成交率较低，减 {points} 分",
            f"Deals in this field and party pairing seldom sign: −{points} points")


def _has(items: tuple[ItemData, ItemData], lang: str) -> bool:
    return any(getattr(i.title, lang) or (i.description is not None and getattr(i.description, lang)) for i in items)


def _terms_for(offer: ItemData, need: ItemData, shared: tuple[list[str], list[str]]) -> tuple[list[str], list[str]]:
    """The shared terms a Chinese and an English reader see: words in their language (with the
    glossary's translations, ``TextModel.shared_terms``); a Chinese reader of items that share
    only Latin-script words sees those (LLM under an English need), an English reader never
    sees Chinese words where an item has English text."""
    chinese, latin = shared
    pair = (offer, need)
    return (chinese or latin), (latin or ([] if _has(pair, "en") else chinese))


def _field_line(offer: ItemData, need: ItemData) -> tuple[str, str]:
    common = sorted(set(offer.fields) & set(need.fields))
    if common:
        named = [taxonomy.FIELDS[c] for c in common if c in taxonomy.FIELDS]
        return ("领域：" + "、".join(_field_path(f, "zh") for f in named),
                "Field: " + ", ".join(_field_path(f, "en") for f in named))
    tops = sorted({taxonomy.top_level(c) for c in offer.fields} & {taxonomy.top_level(c) for c in need.fields})
    if tops:
        named = [taxonomy.FIELDS[c] for c in tops if c in taxonomy.FIELDS]
        return ("领域：同属" + "、".join(f.zh for f in named), "Field: both in " + ", ".join(f.en for f in named))
    return "领域：不同，仅文本相关", "Field: different, related by text only"


def _field_path(field: taxonomy.Field, lang: str) -> str:
    if field.parent is None:
        return field.name(lang)
    return f"{taxonomy.FIELDS[field.parent].name(lang)} · {field.name(lang)}"


def _trl_line(offer: ItemData, need: ItemData) -> tuple[str, str]:
    if need.trl is None:
        return "需求未限定技术成熟度", "The need sets no minimum TRL"
    if offer.trl is None:
        return f"供给方未标明 TRL（需求 ≥ {need.trl}）", f"The offer gives no TRL (the need asks ≥ {need.trl})"
    return f"TRL {offer.trl} 满足需求 ≥ {need.trl}", f"TRL {offer.trl} meets the need's minimum {need.trl}"


def _money(money: MoneyRange) -> str:
    def amount(value: float | None) -> str:
        return "…" if value is None else f"{value:,.0f}"
    return f"{money.currency} {amount(money.min)}–{amount(money.max)}"


def _amount_line(offer: ItemData, need: ItemData) -> tuple[str, str]:
    """Only pairs whose ranges overlap are scored (``Rule.AMOUNT_RANGES``), so this line says so."""
    if offer.amount is None or need.amount is None:
        return "价格或预算未给出，不扣分", "Price or budget not given, no penalty"
    if offer.amount.currency != need.amount.currency:
        return "币种不同，无法比较预算", "Different currencies, budget not comparable"
    price, budget = _money(offer.amount), _money(need.amount)
    return (f"预算区间重叠（报价 {price}，预算 {budget}）",
            f"Price and budget ranges overlap (price {price}, budget {budget})")


def _transfer_line(offer: ItemData, need: ItemData) -> tuple[str, str]:
    """Only pairs with a transfer mode in common are scored (``Rule.TRANSFER_MODE``)."""
    if offer.transfer_modes and need.transfer_modes:
        common = [m for m in TransferMode if m in offer.transfer_modes and m in need.transfer_modes]
        return ("转化方式：双方均接受" + "、".join(TRANSFER_MODE_NAMES[m][0] for m in common),
                "Transfer mode: both accept " + ", ".join(TRANSFER_MODE_NAMES[m][1] for m in common))
    stated = offer.transfer_modes or need.transfer_modes
    if stated:
        return ("转化方式：一方未限定，另一方接受" + "、".join(TRANSFER_MODE_NAMES[m][0] for m in stated),
                "Transfer mode: one side sets none, the other accepts "
                + ", ".join(TRANSFER_MODE_NAMES[m][1] for m in stated))
    return "转化方式：双方均未限定", "Transfer mode: neither side sets one"


def _preferred_areas(offer: ItemData, need: ItemData) -> list[str]:
    """The preferred regions (places, strategies, centres' areas) the other side is located in."""
    found = [wanted for item, other in ((need, offer), (offer, need)) for wanted in item.region_preference
             if regions.is_preference(wanted) and other.region and regions.is_known(other.region)
             and regions.covers(wanted, other.region)]
    return list(dict.fromkeys(found))


def _region_line(offer: ItemData, need: ItemData, value: float) -> tuple[str, str]:
    known = [r for r in (offer.region, need.region) if r and regions.is_known(r)]
    named = [regions.REGIONS[r] for r in known]
    where_zh = "、".join(dict.fromkeys(r.zh for r in named)) or "地区未知"
    where_en = ", ".join(dict.fromkeys(r.en for r in named)) or "region unknown"
    shared_strategies = (regions.strategies_of(known[0]) & regions.strategies_of(known[1])
                         if len(known) == 2 else frozenset())
    strategy_zh = "".join(f"，同属{regions.strategy_area(s).zh}区域战略" for s in sorted(shared_strategies))
    strategy_en = "".join(f", both in the {regions.strategy_area(s).en} strategy" for s in sorted(shared_strategies))
    required = any(i.region_required and i.region_preference for i in (offer, need))
    if not offer.region_preference and not need.region_preference:
        return (f"双方无地域偏好，不扣分（{where_zh}{strategy_zh}）",
                f"No regional preference on either side, no penalty ({where_en}{strategy_en})")
    if value == 1.0:
        areas = _preferred_areas(offer, need)
        within_zh = "、".join(regions.name(a, "zh") for a in areas)
        within_en = ", ".join(regions.name(a, "en") for a in areas)
        return ((f"地域：在{'要求' if required else '偏好'}的{within_zh or '地区'}范围内（{where_zh}）{strategy_zh}"),
                (f"Region: within the {'required' if required else 'preferred'} "
                 f"{within_en or 'region'} ({where_en}){strategy_en}"))
    if len(named) == 2:
        closeness = regions.proximity(known[0], known[1])
        return (f"地域：{_PROXIMITY_ZH[closeness]}（{where_zh}）{strategy_zh}，契合度 {value:.2f}",
                f"Region: {closeness.value.replace('_', ' ')} ({where_en}){strategy_en}, fit {value:.2f}")
    return f"地域契合度 {value:.2f}（{where_zh}）", f"Region fit {value:.2f} ({where_en})"


_PROXIMITY_ZH: dict[regions.Proximity, str] = {
    regions.Proximity.SAME_CITY: "同城", regions.Proximity.SAME_PROVINCE: "同省",
    regions.Proximity.SAME_STRATEGY: "同一区域战略", regions.Proximity.SAME_CENTRE: "同一技术转移区域中心",
    regions.Proximity.ELSEWHERE: "异地",
}


def explain(offer: ItemData, need: ItemData, values: dict[str, float], shared_terms: tuple[list[str], list[str]],
            factor: float = 1.0) -> Explanation:
    """One line per feature in zh and en, in ``FEATURES`` order (the transfer mode after the
    budget), and the decline penalty if any. Pairs breaking a hard rule are never explained:
    every line describes a rule kept."""
    offerer, seeker = PARTY_NAMES[offer.owner_party_type], PARTY_NAMES[need.owner_party_type]
    zh_terms, en_terms = _terms_for(offer, need, shared_terms)
    lines = [
        _field_line(offer, need),
        (f"文本相关度 {values['text']:.2f}" + (f"（共同关键词：{'、'.join(zh_terms)}）" if zh_terms else ""),
         f"Text relevance {values['text']:.2f}" + (f" (shared terms: {', '.join(en_terms)})" if en_terms else "")),
        _trl_line(offer, need),
        _amount_line(offer, need),
        _transfer_line(offer, need),
        _region_line(offer, need, values["region"]),
        (f"{offerer[0]} → {seeker[0]}，组合契合度 {values['party']:.2f}",
         f"{offerer[1]} → {seeker[1]}, pairing fit {values['party']:.2f}"),
        (f"信息新鲜度 {values['freshness']:.2f}", f"Freshness {values['freshness']:.2f}"),
    ]
    if factor < 1.0:
        cut = round((1 - factor) * 100)
        lines.append((f"因相似匹配曾被谢绝，降权 {cut}%", f"Lowered {cut}% after similar matches were declined"))
    return Explanation(zh=[zh for zh, _ in lines], en=[en for _, en in lines])


def _side(item: ItemData) -> MatchSide:
    return MatchSide(item_id=item.id, owner_id=item.owner_id, party_type=item.owner_party_type, title=item.title)


def to_match_data(scored: ScoredPair, offer: ItemData, need: ItemData) -> MatchData:
    return MatchData(match_id=match_id(offer.id, need.id), kind=offer.kind, offer=_side(offer), need=_side(need),
                     score=scored.score, features=scored.features, explanation=scored.explanation)
