"""The one renderer of a match: its numbers (``scoring.ScoredPair``) and its two items in, the
score parts and the explanation (zh and en) out, when the match is sent or read.

The engine keeps a match as numbers only: ids, score, the feature values, the decline factor, the
prior and the shared terms (interned strings, shared by every match naming them). Everything a
person reads is rendered here, so the lines sent and the lines read are the same, and nothing of
them is held per match. ``is_news`` tells whether a re-scored match is worth a ``match.updated``
on the same numbers.
"""

from __future__ import annotations

import re

from shared import regions, taxonomy
from shared.events.common import MoneyRange
from shared.events.listing import TRANSFER_MODE_NAMES, ItemData, TransferMode
from shared.events.matching import (
    Explanation, FeatureScore, MatchData, MatchRetractedData, MatchSide, RetractReason,
)
from shared.party_types import PARTY_NAMES

from services.matching.domain import priors as conversion
from services.matching.domain.scoring import WEIGHTS, ScoredPair
from services.matching.domain.text import is_chinese

# A re-scored match is news when its score moves by more than this (a point of the percentage a
# person reads), or when a fact of its explanation or one of its sides changes.
UPDATE_EPSILON = 0.01
# The fit figures of explanation lines ("text relevance 0.42", "freshness 0.91"): they follow the
# score; the rest of a line (shared terms, fields, TRL, amounts, regions, a decline penalty) is fact.
_FIGURE = re.compile(r"\d+\.\d+")

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


def explain(scored: ScoredPair) -> Explanation:
    """One line per feature in zh and en, in ``FEATURES`` order (the transfer mode after the
    budget), the decline penalty if any, and the deal-outcome prior if any. Pairs breaking a hard
    rule are never explained: every line describes a rule kept."""
    offer, need, values, factor = scored.offer, scored.need, scored.named_values, scored.factor
    offerer, seeker = PARTY_NAMES[offer.owner_party_type], PARTY_NAMES[need.owner_party_type]
    shared = ([t for t in scored.terms if is_chinese(t)], [t for t in scored.terms if not is_chinese(t)])
    zh_terms, en_terms = _terms_for(offer, need, shared)
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
    if scored.prior:
        lines.append(_prior_line(scored.prior))
    return Explanation(zh=[zh for zh, _ in lines], en=[en for _, en in lines])


def features(scored: ScoredPair) -> list[FeatureScore]:
    """The score parts: each feature's value, weight and contribution after the decline factor,
    and the ``conversion`` part of a prior if any (its contribution the prior itself)."""
    parts = [FeatureScore(name=name, value=round(value, 6), weight=WEIGHTS[name],
                          contribution=round(WEIGHTS[name] * value * scored.factor, 6))
             for name, value in scored.named_values.items()]
    if scored.prior:
        parts.append(FeatureScore(name=CONVERSION, value=conversion.feature_value(scored.prior, scored.bound),
                                  weight=scored.bound, contribution=scored.prior))
    return parts


def side(item: ItemData) -> MatchSide:
    return MatchSide(item_id=item.id, owner_id=item.owner_id, party_type=item.owner_party_type, title=item.title)


def render(scored: ScoredPair) -> MatchData:
    """The match as sent and read: sides, score parts and explanation."""
    return MatchData(match_id=scored.match_id, kind=scored.kind, offer=side(scored.offer), need=side(scored.need),
                     score=scored.score, features=features(scored), explanation=explain(scored))


def retraction(scored: ScoredPair, reason: RetractReason, for_participant: str | None = None) -> MatchRetractedData:
    """The retraction of a match, naming its sides as last sent."""
    return MatchRetractedData(match_id=scored.match_id, kind=scored.kind, offer=side(scored.offer),
                              need=side(scored.need), reason=reason, for_participant=for_participant)


def _facts(lines: list[str]) -> list[str]:
    return [_FIGURE.sub("#", line) for line in lines]


def _penalty(factor: float) -> int | None:
    """The decline line's fact: the cut in whole percent, None without the line."""
    return round((1 - factor) * 100) if factor < 1.0 else None


def _sign(prior: float) -> int:
    return (prior > 0) - (prior < 0)


def is_news(old: ScoredPair, new: ScoredPair) -> bool:
    """Whether a re-scored match is worth a ``match.updated``: its score moved by more than
    ``UPDATE_EPSILON``, a side changed (a title), or a fact of its explanation changed; fit
    figures drifting with the score (freshness ageing, text statistics) alone are not news.

    On the numbers: of the same two item versions, the lines' facts differ only by the shared
    terms, the decline line's cut and the prior line's direction (the rest of every line follows
    from the items, or is a figure); only when an item has a new version are both rendered."""
    if abs(old.score - new.score) > UPDATE_EPSILON:
        return True
    if old.offer is new.offer and old.need is new.need:
        return (old.terms != new.terms or _penalty(old.factor) != _penalty(new.factor)
                or _sign(old.prior) != _sign(new.prior))
    if side(old.offer) != side(new.offer) or side(old.need) != side(new.need):
        return True
    before, after = explain(old), explain(new)
    return _facts(before.zh) != _facts(after.zh) or _facts(before.en) != _facts(after.en)
