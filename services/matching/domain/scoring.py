"""Deterministic, explainable scoring of an (offer, need) pair.

A pair first passes hard filters (``compatible``); then seven features, each in [0, 1], are
weighted and summed (the weights sum to 1, so the score is in [0, 1]); declines of similar
matches may lower the sum by a factor (see ``feedback``). The same inputs always give the same
score, features and explanation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from shared import regions, taxonomy
from shared.events.common import MoneyRange
from shared.events.listing import ItemData, ItemStatus
from shared.events.matching import Explanation, FeatureScore, MatchData, MatchSide, match_id
from shared.party_types import PARTY_NAMES, Kind, PartyType, Side, may_post

from services.matching.domain.feedback import FeedbackPenalties
from services.matching.domain.text import TextModel

# The weights of the features. What the pair is about (field and text) carries 0.8, how well the
# terms fit (the practical features) 0.2 in all: they reorder partners of similar relevance but
# cannot outweigh a shared sub-field (0.3). The small weight beyond field and text is also what
# lets the index stop early (see index.top_partners).
WEIGHTS: dict[str, float] = {
    "field": 0.30,  # 1 same sub-field (exact code), 0.5 same top-level field, 0 otherwise
    "text": 0.50,  # BM25 of the offer against the need, zh + en (see text.py)
    "trl": 0.07,  # offer's TRL against the need's minimum
    "amount": 0.04,  # price / ticket against budget: overlap of the two ranges
    "region": 0.04,  # proximity to each side's region preference; none means no penalty
    "party": 0.02,  # how typical the pair of party types is for the kind
    "freshness": 0.03,  # halves every FRESHNESS_HALF_LIFE_DAYS since the older side's update
}
FEATURES: tuple[str, ...] = tuple(WEIGHTS)
PRACTICAL: tuple[str, ...] = FEATURES[2:]  # all but field and text: what the index cannot rank by
_PRACTICAL_WEIGHTS = tuple(WEIGHTS[name] for name in PRACTICAL)
WEIGHT_BEYOND_INDEX = sum(_PRACTICAL_WEIGHTS)

SAME_TOP_LEVEL = 0.5
TRL_STEP_PENALTY = 0.35  # per TRL level the offer is short of the need's minimum
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
    score: float
    features: list[FeatureScore]
    explanation: Explanation


def is_live(item: ItemData, now: datetime) -> bool:
    return item.status is ItemStatus.OPEN and (item.expires_at is None or item.expires_at > now)


def compatible(offer: ItemData, need: ItemData, now: datetime) -> bool:
    """The hard filters: sides, kind, party-type rule, open status and transfer modes."""
    return (
        offer.side is Side.OFFER and need.side is Side.NEED and offer.kind is need.kind
        and offer.owner_id != need.owner_id
        and may_post(offer.owner_party_type, Side.OFFER, offer.kind)
        and may_post(need.owner_party_type, Side.NEED, need.kind)
        and is_live(offer, now) and is_live(need, now)
        and (not offer.transfer_modes or not need.transfer_modes
             or not set(offer.transfer_modes).isdisjoint(need.transfer_modes))
    )


def field_overlap(a: list[str], b: list[str]) -> float:
    if not set(a).isdisjoint(b):
        return 1.0
    tops = {taxonomy.top_level(code) for code in a}
    return SAME_TOP_LEVEL if any(taxonomy.top_level(code) in tops for code in b) else 0.0


def trl_fit(offered: int | None, minimum: int | None) -> float:
    if minimum is None:
        return 1.0
    if offered is None:
        return UNKNOWN
    return max(0.0, 1.0 - TRL_STEP_PENALTY * max(0, minimum - offered))


def amount_fit(price: MoneyRange | None, budget: MoneyRange | None) -> float:
    """1 when the ranges overlap; shrinking with the gap between them relative to their size."""
    if price is None or budget is None:
        return 1.0
    if price.currency != budget.currency:
        return UNKNOWN
    low = max(price.min or 0.0, budget.min or 0.0)
    high = min(price.max if price.max is not None else float("inf"),
               budget.max if budget.max is not None else float("inf"))
    if low <= high:
        return 1.0
    gap = low - high
    return max(0.0, 1.0 - 2 * gap / low)


@lru_cache(maxsize=65536)
def _preference_fit(preferences: tuple[str, ...], region: str | None) -> float:
    if not preferences:
        return 1.0
    if region is None or not regions.is_known(region):
        return UNKNOWN
    best = 0.0
    for wanted in preferences:
        if not regions.is_known(wanted):
            continue
        if wanted == regions.province_of(region) or wanted == region:
            return 1.0  # a whole province (or the very city) was asked for and the item is in it
        best = max(best, PROXIMITY_FIT[regions.proximity(wanted, region)])
    return best


def region_fit(offer: ItemData, need: ItemData) -> float:
    """Each side's preference against the other side's region, averaged; no preference is 1."""
    return (_preference_fit(tuple(need.region_preference), offer.region)
            + _preference_fit(tuple(offer.region_preference), need.region)) / 2


def party_fit(offer: ItemData, need: ItemData) -> float:
    return pairing_fit(offer.kind, offer.owner_party_type, need.owner_party_type)


def pairing_fit(kind: Kind, offerer: PartyType, seeker: PartyType) -> float:
    return _TYPICAL[kind].get((offerer, seeker), ATYPICAL_PARTIES)


def freshness(offer: ItemData, need: ItemData, now: datetime) -> float:
    return freshness_after((now - min(offer.updated_at, need.updated_at)).total_seconds() / 86400)


def freshness_after(days: float) -> float:
    """Freshness ``days`` after the older side's update: never increasing with ``days``."""
    return 0.5 ** (max(0.0, days) / FRESHNESS_HALF_LIFE_DAYS)


_NO_TEXT_STATISTICS = TextModel()


def feature_values(offer: ItemData, need: ItemData, *, now: datetime,
                   text: TextModel | None = None) -> tuple[float, ...] | None:
    """The features in ``FEATURES`` order, or None when a hard filter fails or the two have
    nothing in common (no shared field and no shared term)."""
    if not compatible(offer, need, now):
        return None
    field = field_overlap(offer.fields, need.fields)
    relevance = (text or _NO_TEXT_STATISTICS).relevance(offer, need)
    if not field and not relevance:
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
    """The score alone (the fast path used to rank candidates); equals ``score_pair(...).score``."""
    values = feature_values(offer, need, now=now, text=text)
    if values is None:
        return None
    total = sum(WEIGHTS[name] * value for name, value in zip(FEATURES, values, strict=True))
    if feedback:
        total *= feedback.factor(offer, need)
    return round(total, 6)


def score_pair(offer: ItemData, need: ItemData, *, now: datetime, text: TextModel | None = None,
               feedback: FeedbackPenalties | None = None) -> ScoredPair | None:
    values = feature_values(offer, need, now=now, text=text)
    if values is None:
        return None
    factor = feedback.factor(offer, need) if feedback else 1.0
    features = [
        FeatureScore(name=name, value=round(value, 6), weight=WEIGHTS[name],
                     contribution=round(WEIGHTS[name] * value * factor, 6))
        for name, value in zip(FEATURES, values, strict=True)
    ]
    score = round(sum(WEIGHTS[name] * value for name, value in zip(FEATURES, values, strict=True)) * factor, 6)
    shared = (text or _NO_TEXT_STATISTICS).shared_terms(offer, need)
    return ScoredPair(score=score, features=features,
                      explanation=explain(offer, need, dict(zip(FEATURES, values, strict=True)), shared, factor))


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
    if offer.trl >= need.trl:
        return f"TRL {offer.trl} 满足需求 ≥ {need.trl}", f"TRL {offer.trl} meets the need's minimum {need.trl}"
    return f"TRL {offer.trl} 低于需求 ≥ {need.trl}", f"TRL {offer.trl} is below the need's minimum {need.trl}"


def _amount_line(offer: ItemData, need: ItemData, value: float) -> tuple[str, str]:
    if offer.amount is None or need.amount is None:
        return "价格或预算未给出，不扣分", "Price or budget not given, no penalty"
    if value == 1.0:
        return "预算区间重叠", "Price and budget ranges overlap"
    if value == UNKNOWN and offer.amount.currency != need.amount.currency:
        return "币种不同，无法比较预算", "Different currencies, budget not comparable"
    return "价格与预算区间不重叠", "Price and budget ranges do not overlap"


def _region_line(offer: ItemData, need: ItemData, value: float) -> tuple[str, str]:
    if not offer.region_preference and not need.region_preference:
        return "双方无地域偏好，不扣分", "No regional preference on either side, no penalty"
    named = [regions.REGIONS[r] for r in (offer.region, need.region) if r and regions.is_known(r)]
    where_zh = "、".join(dict.fromkeys(r.zh for r in named)) or "地区未知"
    where_en = ", ".join(dict.fromkeys(r.en for r in named)) or "region unknown"
    if value == 1.0:
        return f"地域：符合地域偏好（{where_zh}）", f"Region: within the preferred region ({where_en})"
    if len(named) == 2:
        closeness = regions.proximity(offer.region, need.region)
        return (f"地域：{_PROXIMITY_ZH[closeness]}（{where_zh}），契合度 {value:.2f}",
                f"Region: {closeness.value.replace('_', ' ')} ({where_en}), fit {value:.2f}")
    return f"地域契合度 {value:.2f}（{where_zh}）", f"Region fit {value:.2f} ({where_en})"


_PROXIMITY_ZH: dict[regions.Proximity, str] = {
    regions.Proximity.SAME_CITY: "同城", regions.Proximity.SAME_PROVINCE: "同省",
    regions.Proximity.SAME_STRATEGY: "同一区域战略", regions.Proximity.SAME_CENTRE: "同一技术转移区域中心",
    regions.Proximity.ELSEWHERE: "异地",
}


def explain(offer: ItemData, need: ItemData, values: dict[str, float], shared_terms: list[str],
            factor: float = 1.0) -> Explanation:
    """One line per feature in zh and en, in ``FEATURES`` order, and the decline penalty if any."""
    offerer, seeker = PARTY_NAMES[offer.owner_party_type], PARTY_NAMES[need.owner_party_type]
    terms = "、".join(shared_terms[:3])
    lines = [
        _field_line(offer, need),
        (f"文本相关度 {values['text']:.2f}" + (f"（共同关键词：{terms}）" if terms else ""),
         f"Text relevance {values['text']:.2f}" + (f" (shared terms: {', '.join(shared_terms[:3])})" if terms else "")),
        _trl_line(offer, need),
        _amount_line(offer, need, values["amount"]),
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
