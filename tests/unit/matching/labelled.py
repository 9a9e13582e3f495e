"""The labelled set (``data/labelled.json``) as items, and ranking quality measured on it."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from shared import taxonomy
from shared.events.common import LocalizedText, MoneyRange
from shared.events.deals import PRIOR_CAP, prior_key
from shared.events.listing import ItemData, ItemStatus
from shared.events.matching import ConsortiumData
from shared.party_types import Kind, PartyType, Side

from services.matching.domain.consortium import ConsortiumBook
from services.matching.domain.engine import MatchEngine
from services.matching.domain.priors import WEIGHT, ConversionPriors
from services.matching.domain.index import CandidateIndex, top_partners
from services.matching.domain.text import TextModel
from tests.unit.matching.factories import NOW

DATA = Path(__file__).parent / "data" / "labelled.json"


def _item(raw: dict, side: Side) -> ItemData:
    description = None
    if raw.get("zh_desc") or raw.get("en_desc"):
        description = LocalizedText(zh=raw.get("zh_desc"), en=raw.get("en_desc"))
    amount = raw.get("amount")
    return ItemData(
        id=raw["id"], side=side, kind=Kind(raw["kind"]), owner_id="p-" + raw["id"],
        owner_party_type=PartyType(raw["party"]), title=LocalizedText(zh=raw.get("zh"), en=raw.get("en")),
        description=description, fields=raw["fields"], keywords=raw.get("keywords", []), trl=raw.get("trl"),
        amount=MoneyRange(min=amount[0], max=amount[1]) if amount else None, region=raw.get("region"),
        transfer_modes=raw.get("transfer_modes", []), region_preference=raw.get("region_preference", []),
        region_required=raw.get("region_required", False), status=ItemStatus.OPEN, created_at=NOW, updated_at=NOW)


def load() -> tuple[list[ItemData], list[ItemData], dict[str, str]]:
    """Offers, needs and the expected offer of each need."""
    raw = json.loads(DATA.read_text(encoding="utf-8"))
    offers = [_item(o, Side.OFFER) for o in raw["offers"]]
    needs = [_item(n, Side.NEED) for n in raw["needs"]]
    return offers, needs, {n["id"]: n["expected"] for n in raw["needs"]}


def forbidden() -> dict[str, list[str]]:
    """Per need, the offers that must never match it (each breaks a hard rule)."""
    raw = json.loads(DATA.read_text(encoding="utf-8"))
    return {n["id"]: n["forbidden"] for n in raw["needs"] if n.get("forbidden")}


def expected_consortia() -> dict[str, dict[str, str | None]]:
    """Per need, the capital, service and policy offer a domain expert would propose around its
    match with the expected offer (None: no open offer fits, the role should stay missing)."""
    raw = json.loads(DATA.read_text(encoding="utf-8"))
    return {n["id"]: n["consortium"] for n in raw["needs"] if n.get("consortium")}


def written_in(item: ItemData) -> str:
    """"zh", "en" or "zh+en": the languages an item's title and description are in."""
    def has(lang: str) -> bool:
        return bool(getattr(item.title, lang) or (item.description is not None and getattr(item.description, lang)))
    return "+".join(lang for lang in ("zh", "en") if has(lang))


def cross_lingual(offers: list[ItemData], needs: list[ItemData], expected: dict[str, str]) -> dict[str, list[str]]:
    """Needs written in one language whose expected offer is written in the other only, by direction."""
    by_id = {o.id: o for o in offers}
    found: dict[str, list[str]] = {"zh→en": [], "en→zh": []}
    for need in needs:
        pair = (written_in(need), written_in(by_id[expected[need.id]]))
        if pair in (("zh", "en"), ("en", "zh")):
            found[f"{pair[0]}→{pair[1]}"].append(need.id)
    return found


@dataclass(frozen=True)
class EngineQuality:
    needs: int
    top1: float
    top3: float
    mrr: float
    forbidden_matched: int  # pairs of ``forbidden`` the engine matched: must be 0
    cross_lingual_top1: float  # over the cross-lingual needs of both directions
    zh_en_top1: float  # needs in Chinese whose expected offer is in English only
    en_zh_top1: float
    zh_en_text: float  # mean text relevance of the zh→en needs to their expected offers
    en_zh_text: float
    consortium_roles: float  # share of labelled support roles filled (or left missing) as expected
    recall: float  # share of needs whose expected offer is matched at all
    precision: float  # share of needs with a match whose first match is the expected offer
    matches_per_need: float
    misses: tuple[str, ...]  # needs whose expected offer is not their first match
    consortium_misses: tuple[str, ...]  # "need role: expected → proposed"


def engine_quality(bridge: bool = True, threshold: float = 0.35, top_k: int = 10,
                   priors: Mapping[str, float] | None = None, priors_after: bool = False,
                   glossary: bool = True, prior_weight: float = WEIGHT) -> EngineQuality:
    """Through ``MatchEngine`` as the worker runs it (threshold and top-k on): offers, then needs,
    each as one event; the rank of the expected offer among the need's matches. ``priors`` (deal
    outcomes per ``<field>|<offer>><need>``) are known before the first item, or with
    ``priors_after`` arrive once every item is in (re-scoring the current matches); ``prior_weight``
    is how much of them ranks (``priors.WEIGHT`` unless a benchmark weighs another)."""
    offers, needs, expected = load()
    engine = MatchEngine(threshold=threshold, top_k=top_k, bridge=bridge, glossary=glossary)
    engine.priors = ConversionPriors(weight=prior_weight)
    for key, prior in (priors or {}).items() if not priors_after else ():
        engine.on_prior(key, prior, NOW)
    # consortia as the processor works them out: matches and support offers mark them, and they
    # are settled after each event (a worker whose input is caught up settles after every batch)
    book = ConsortiumBook()
    consortia: dict[str, ConsortiumData] = {}
    for item in offers + needs:
        book.note_matches(engine.on_item(item, NOW), engine)
        book.note_support_offer(item, engine, NOW)
        for tech_match_id, proposal in book.settle(engine):
            if proposal is None:
                consortia.pop(tech_match_id, None)
            else:
                consortia[tech_match_id] = proposal
    for key, prior in (priors or {}).items() if priors_after else ():
        book.note_matches(engine.on_prior(key, prior, NOW), engine)
    for tech_match_id, proposal in book.settle(engine) if priors_after else ():
        if proposal is None:
            consortia.pop(tech_match_id, None)
        else:
            consortia[tech_match_id] = proposal
    ranks: dict[str, int | None] = {}
    for need in needs:
        partners = [m.offer.item_id for m in engine.matches_for(need.id)]
        ranks[need.id] = partners.index(expected[need.id]) + 1 if expected[need.id] in partners else None
    matched = {(m.offer.item_id, m.need.item_id) for m in engine.matches()}
    bad = sum((offer_id, need_id) in matched for need_id, offer_ids in forbidden().items() for offer_id in offer_ids)
    directions = cross_lingual(offers, needs, expected)
    cross = [n for ids in directions.values() for n in ids]
    roles, consortium_misses = _consortium_roles(engine, consortia, expected)
    by_id = {i.id: i for i in offers + needs}

    def text(direction: str) -> float:
        ids = directions[direction]
        return sum(engine.index.text.relevance(by_id[expected[n]], by_id[n]) for n in ids) / len(ids)
    n = len(ranks)
    return EngineQuality(
        needs=n, top1=sum(r == 1 for r in ranks.values()) / n,
        top3=sum(r is not None and r <= 3 for r in ranks.values()) / n,
        mrr=sum(1 / r for r in ranks.values() if r) / n, forbidden_matched=bad,
        cross_lingual_top1=sum(ranks[c] == 1 for c in cross) / len(cross),
        zh_en_top1=sum(ranks[c] == 1 for c in directions["zh→en"]) / len(directions["zh→en"]),
        en_zh_top1=sum(ranks[c] == 1 for c in directions["en→zh"]) / len(directions["en→zh"]),
        zh_en_text=text("zh→en"), en_zh_text=text("en→zh"),
        consortium_roles=roles,
        recall=sum(r is not None for r in ranks.values()) / n,
        precision=sum(r == 1 for r in ranks.values()) / max(1, sum(bool(engine.matches_for(x.id)) for x in needs)),
        matches_per_need=sum(len(engine.matches_for(x.id)) for x in needs) / n,
        misses=tuple(f"{need_id} (rank {rank})" for need_id, rank in ranks.items() if rank != 1),
        consortium_misses=tuple(consortium_misses))


def _consortium_roles(engine: MatchEngine, consortia: dict[str, ConsortiumData],
                      expected: dict[str, str]) -> tuple[float, list[str]]:
    """The share of labelled roles proposed as expected around each labelled need's match with
    its expected offer (no match, no consortium: every role is missing), and the misses."""
    total, hits, misses = 0, 0, []
    for need_id, roles in sorted(expected_consortia().items()):
        match = next((m for m in engine.matches_for(need_id) if m.offer.item_id == expected[need_id]), None)
        proposal = consortia.get(match.match_id) if match is not None else None
        members = {m.role.value: m.item_id for m in proposal.members} if proposal is not None else {}
        for role, offer_id in roles.items():
            total += 1
            if members.get(role) == offer_id:
                hits += 1
            else:
                misses.append(f"{need_id} {role}: {offer_id} → {members.get(role)}")
    return hits / total, misses


@dataclass(frozen=True)
class Quality:
    analyser: str
    needs: int
    top1: float  # share of needs whose expected offer ranks first
    top3: float
    mrr: float  # mean reciprocal rank of the expected offer (0 when not ranked at all)


def _quality(analyser: str, rank: Callable[[TextModel, ItemData, list[ItemData]], list[str]]) -> Quality:
    offers, needs, expected = load()
    index = CandidateIndex(TextModel(analyser))
    for item in offers + needs:
        index.upsert(item)
    ranks: list[int | None] = []
    for need in needs:
        ranked = rank(index, need, offers)
        ranks.append(ranked.index(expected[need.id]) + 1 if expected[need.id] in ranked else None)
    n = len(ranks)
    return Quality(analyser=analyser, needs=n, top1=sum(r == 1 for r in ranks) / n,
                   top3=sum(r is not None and r <= 3 for r in ranks) / n, mrr=sum(1 / r for r in ranks if r) / n)


def ranking_quality(analyser: str) -> Quality:
    """Offers ranked for each need by the full score, through the index."""
    return _quality(analyser, lambda index, need, offers: [
        o.id for _, o in top_partners(index, need, k=len(offers), now=NOW)])


def text_only_quality(analyser: str) -> Quality:
    """Offers ranked by text relevance alone, ignoring fields and the rest: how well the
    analyser itself tells partners apart."""
    def by_text(index: CandidateIndex, need: ItemData, offers: list[ItemData]) -> list[str]:
        scored = sorted(((index.text.relevance(o, need), o.id) for o in offers if o.kind is need.kind),
                        key=lambda s: (-s[0], s[1]))
        return [oid for score, oid in scored if score > 0]
    return _quality(analyser, by_text)


# Deal-outcome priors (``<field>|<offer>><need>`` -> prior, services/matching/domain/priors.py) a
# market could plausibly publish for the labelled set's fields and party-type pairs, each at the
# cap (±0.05) where it is set. The reached figures must hold with each (test_ranking_quality).
PLAUSIBLE_PRIORS: dict[str, dict[str, float]] = {
    "institutes convert": {"EIT|institute>enterprise": 0.05, "IMFG|institute>enterprise": 0.05,
                           "BIO|institute>enterprise": 0.03, "IMFG|university>enterprise": -0.05,
                           "5G|university>enterprise": -0.05},
    "universities convert": {"5G|university>enterprise": 0.05, "IMFG|university>enterprise": 0.05,
                             "IIOT|university>enterprise": 0.05, "BIO|enterprise>enterprise": -0.05,
                             "EIT|enterprise>enterprise": -0.05},
    "support roles": {"5G|investor>university": 0.05, "EIT|investor>university": 0.05,
                      "IMFG|investor>enterprise": -0.05, "BIO|agency>institute": 0.05,
                      "5G|enterprise>government": -0.05},
}
# A set the reached figures do not survive (one top-1 and one top-3 need lost): recorded in the
# bench, not required, see bench/matching_priors.py.
ENTERPRISES_SELL = {"IMFG|enterprise>enterprise": 0.05, "IIOT|enterprise>enterprise": 0.05,
                    "EIT|enterprise>enterprise": 0.03, "5G|university>enterprise": -0.03,
                    "BIO|university>enterprise": -0.05, "BIO|institute>enterprise": -0.05,
                    "EIT|institute>enterprise": -0.02}


def prior_keys() -> list[str]:
    """Every prior key an offer and a need of one kind of the labelled set can have."""
    offers, needs, _ = load()
    return sorted({prior_key(top, o.owner_party_type, n.owner_party_type)
                   for n in needs for o in offers if o.kind is n.kind
                   for top in {taxonomy.top_level(code) for code in (*o.fields, *n.fields)}})


def random_priors(seed: int, size: float = PRIOR_CAP) -> dict[str, float]:
    """Every key of the set at +``size`` or −``size`` at random: noise, the worst a signal can be."""
    r = random.Random(seed)
    return {key: r.choice((-size, size)) for key in prior_keys()}
