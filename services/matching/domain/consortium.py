"""Five-party consortia (五方联动) around technology matches, from the whole market.

Around one technology match (provider's offer ↔ seeker's need), each support role is filled by
the open offer of the whole market that fits the technology best, whether or not either party
posted a need for it:

- *capital*: an investor's capital offer in the technology's field, whose stage (its TRL, the
  least it invests at) the offered technology has reached, whose ticket overlaps the budget of a
  capital need either party posted (if any), and whose region preference covers a party; its
  ticket is weighed against the technology's stage (``ticket_fit``: a 50–200 M growth fund
  suits a TRL 6 chip less than a 5–30 M early-stage fund);
- *service*: an agency's service offer in the field whose region preference covers a party;
- *policy*: a government's policy offer in the field covering the provider's or seeker's region
  (its region preference, else the government's own region): a programme applies only there.

A role is missing only when no open offer fits. ``support_fit`` scores a fitting offer in [0, 1]
(``SUPPORT_WEIGHTS``); when the offer is also matched to a need either party posted for that
role, the match's score counts if higher. Ties go to the lower item id. The consortium score is
the mean over the five roles (a missing role counts 0). A consortium with no support role filled
is not a consortium: ``propose`` gives None and the processor retracts any earlier one. The
consortium id derives from the technology match id, so replays give the same id.

``ConsortiumBook`` keeps which consortia may have changed and each one's support members, so a
new, changed or withdrawn support offer re-works only the consortia it belongs to or would now
win, not every consortium of its field.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property, lru_cache, partial
from typing import Any, Protocol

from shared import regions, taxonomy
from shared.events.common import LocalizedText, MoneyRange
from shared.events.listing import ItemData, ParticipantData
from shared.events.matching import ConsortiumData, ConsortiumMember, ConsortiumRole
from shared.party_types import Kind, PartyType, Side

from services.matching.domain.engine import UPDATE_EPSILON, MatchChange
from services.matching.domain.scoring import (
    SAME_TOP_LEVEL, UNKNOWN, ScoredPair, amounts_overlap, is_live, preference_fit,
)

SUPPORT_ROLES: dict[Kind, ConsortiumRole] = {
    Kind.CAPITAL: ConsortiumRole.CAPITAL,
    Kind.SERVICE: ConsortiumRole.SERVICE,
    Kind.POLICY: ConsortiumRole.POLICY,
}
SUPPORT_PARTY: dict[Kind, PartyType] = {
    Kind.CAPITAL: PartyType.INVESTOR, Kind.SERVICE: PartyType.AGENCY, Kind.POLICY: PartyType.GOVERNMENT,
}
ROLE_COUNT = 5
# A need gets consortia around its best CONSORTIUM_TOP technology matches only (score, then the
# offer's id, as the engine ranks): a team around its eighth-best offer is noise (README: Bounded output).
CONSORTIUM_TOP = 3
# (field, region, stage) weights of a support offer's fit, per kind; each sums to 1
SUPPORT_WEIGHTS: dict[Kind, tuple[float, float, float]] = {
    Kind.CAPITAL: (0.5, 0.3, 0.2),
    Kind.SERVICE: (0.6, 0.4, 0.0),
    Kind.POLICY: (0.5, 0.5, 0.0),
}


# The tickets (CNY) of the rounds a technology raises at each TRL: research and proof of concept
# (TRL 1-3) angel and seed rounds; prototype to pilot (4-6) Pre-A and A rounds; demonstration to
# first production (7-8) B rounds and growth; proven at scale (9) growth, pre-IPO and buy-outs.
# Neighbouring stages overlap: a stage's edge is not sharp.
STAGE_TICKETS: tuple[tuple[int, int, float, float], ...] = (
    (1, 3, 0.0, 10e6),
    (4, 6, 3e6, 50e6),
    (7, 8, 10e6, 150e6),
    (9, 9, 50e6, math.inf),
)


def typical_ticket(ticket: MoneyRange) -> float | None:
    """The middle of a ticket range on a ratio scale (5–30 M → 12 M), None when open on both ends."""
    low, high = ticket.min or 0.0, ticket.max
    if high is None:
        return low or None
    return math.sqrt(low * high) if low > 0 else high / 2


def ticket_fit(ticket: MoneyRange | None, trl: int | None) -> float:
    """1 when the typical ticket of a capital offer is one the technology's stage raises
    (``STAGE_TICKETS``), 0 when it is not, ``UNKNOWN`` without a ticket in CNY or a TRL."""
    typical = typical_ticket(ticket) if ticket is not None and ticket.currency == "CNY" else None
    if typical is None or trl is None:
        return UNKNOWN
    return 1.0 if any(first <= trl <= last and low <= typical <= high
                      for first, last, low, high in STAGE_TICKETS) else 0.0


class EngineView(Protocol):
    """What a proposal reads from the match engine (``MatchEngine`` satisfies it)."""

    participants: dict[str, ParticipantData]

    def get_item(self, item_id: str) -> ItemData | None: ...

    def items_of(self, owner_id: str) -> list[ItemData]: ...

    def pairs_for(self, item_id: str) -> list[tuple[str, str, str, float]]: ...

    def match_ids_of(self, item_id: str) -> frozenset[str]: ...

    def best_ids(self, item_id: str, n: int) -> list[str]: ...

    def record(self, match_id_: str) -> ScoredPair | None: ...

    def open_items(self, kind: Kind, side: Side, top_fields: Iterable[str]) -> list[ItemData]: ...

    def open_ids(self, kind: Kind, side: Side, top_fields: Iterable[str]) -> list[str]: ...

    def listing_ids(self, kind: Kind, side: Side, codes: Iterable[str]) -> set[str]: ...


def consortium_id(technology_match_id: str) -> str:
    return "c_" + hashlib.sha256(technology_match_id.encode()).hexdigest()[:24]


@dataclass(frozen=True)
class Technology:
    """The two sides of a technology match, with what the support roles are fitted to."""

    offer: ItemData
    need: ItemData
    places: tuple[str, ...]  # the provider's and the seeker's region (item's, else participant's)

    @property
    def parties(self) -> tuple[str, str]:
        return self.offer.owner_id, self.need.owner_id

    @cached_property
    def fields(self) -> list[str]:
        return list(dict.fromkeys([*self.offer.fields, *self.need.fields]))

    @cached_property
    def field_set(self) -> frozenset[str]:
        return frozenset(self.fields)

    @cached_property
    def top_fields(self) -> list[str]:
        return sorted({taxonomy.top_level(c) for c in self.fields})

    def field_fit(self, codes: list[str]) -> float:
        """``scoring.field_overlap`` of the codes with the technology's fields."""
        if not self.field_set.isdisjoint(codes):
            return 1.0
        return SAME_TOP_LEVEL if any(taxonomy.top_level(c) in self.top_fields for c in codes) else 0.0


def technology(offer_id: str, need_id: str, view: EngineView) -> Technology | None:
    """The two open items of a technology match, or None when it is none (any more)."""
    offer, need = view.get_item(offer_id), view.get_item(need_id)
    if offer is None or need is None or offer.kind is not Kind.TECHNOLOGY:
        return None
    places = tuple(p for p in (_place(offer, view), _place(need, view)) if p)
    return Technology(offer, need, places)


def _place(item: ItemData, view: EngineView) -> str | None:
    if item.region and regions.is_known(item.region):
        return item.region
    owner = view.participants.get(item.owner_id)
    return owner.region if owner is not None and regions.is_known(owner.region) else None


@dataclass(frozen=True)
class SupportFit:
    offer: ItemData
    score: float
    where: str | None  # the party's region the offer covers, if it names regions
    match_id: str | None = None  # the match of the offer with a party's own need, if any


def support_fit(offer: ItemData, tech: Technology, party_needs: list[ItemData]) -> SupportFit | None:
    """How well a capital, service or policy offer fits the team, or None when it does not.
    ``party_needs``: the needs of that kind either party posted."""
    kind = offer.kind
    if (offer.side is not Side.OFFER or kind not in SUPPORT_ROLES or offer.owner_party_type is not SUPPORT_PARTY[kind]
            or offer.owner_id in tech.parties):
        return None
    field = tech.field_fit(offer.fields)
    if not field:
        return None
    covered = _covered(offer, tech)
    if covered is None:
        return None
    region, where = covered
    stage = 1.0
    if kind is Kind.CAPITAL:
        if offer.trl is not None and tech.offer.trl is not None and tech.offer.trl < offer.trl:
            return None  # the investor does not invest this early
        budgets = [n.amount for n in party_needs if n.amount is not None]
        if budgets and not any(amounts_overlap(offer.amount, b) for b in budgets):
            return None  # the ticket fits no funding either party asked for
        floor = 1.0 if offer.trl is not None and tech.offer.trl is not None else UNKNOWN
        stage = (floor + ticket_fit(offer.amount, tech.offer.trl)) / 2
    weights = SUPPORT_WEIGHTS[kind]
    score = round(weights[0] * field + weights[1] * region + weights[2] * stage, 6)
    return SupportFit(offer, score, where)


def fit_ceiling(offer: ItemData, field: float = 1.0) -> float:
    """The most ``support_fit`` can give the offer around any technology whose field fit is at
    most ``field``: every other factor at its best (region 1; a capital offer's stage 1 only with
    its TRL and a ticket in CNY stated, else ``UNKNOWN`` for the missing one), rounded as scores are."""
    kind = offer.kind
    stage = 1.0
    if kind is Kind.CAPITAL:
        floor = 1.0 if offer.trl is not None else UNKNOWN
        ticket = 1.0 if offer.amount is not None and offer.amount.currency == "CNY" and \
            typical_ticket(offer.amount) is not None else UNKNOWN
        stage = (floor + ticket) / 2
    weights = SUPPORT_WEIGHTS[kind]
    return round(weights[0] * field + weights[1] + weights[2] * stage, 6)


def _covered(offer: ItemData, tech: Technology) -> tuple[float, str | None] | None:
    """(region fit, the party region the offer covers) or None when its region rules it out.
    A policy applies only in its region preference (else its own region); other offers may
    prefer (scored) or require (a filter) regions."""
    preferences = tuple(offer.region_preference) or (
        (offer.region,) if offer.kind is Kind.POLICY and offer.region else ())
    if not preferences:
        return 1.0, None
    provinces, cities = _coverage(preferences)
    inside = [p for p in tech.places if p in cities or regions.province_of(p) in provinces]
    if inside:
        return 1.0, inside[0]
    if offer.kind is Kind.POLICY or offer.region_required:
        return None
    return max((preference_fit(preferences, p) for p in tech.places), default=UNKNOWN), None


@lru_cache(maxsize=4096)
def _coverage(preferences: tuple[str, ...]) -> tuple[frozenset[str], frozenset[str]]:
    """The whole provinces and the single cities a region preference covers (``regions.covers``)."""
    provinces: set[str] = set()
    for wanted in preferences:
        if wanted in regions.AREAS:
            provinces |= regions.AREAS[wanted].provinces
        elif regions.is_known(wanted) and not regions.REGIONS[wanted].is_city:
            provinces.add(wanted)
    cities = frozenset(w for w in preferences if regions.is_known(w) and regions.REGIONS[w].is_city)
    return frozenset(provinces), cities


def reason(fit: SupportFit, tech: Technology) -> LocalizedText:
    """One line on why a support offer fits the team, in zh and en."""
    offer, where = fit.offer, fit.where
    common = [c for c in offer.fields if c in tech.fields]
    tops = {taxonomy.top_level(c) for c in tech.fields}
    shown = common or [c for c in offer.fields if taxonomy.top_level(c) in tops]
    field_zh = "、".join(taxonomy.FIELDS[c].zh for c in shown[:2] if c in taxonomy.FIELDS)
    field_en = ", ".join(taxonomy.FIELDS[c].en for c in shown[:2] if c in taxonomy.FIELDS)
    zh, en = [f"覆盖{field_zh}"], [f"covers {field_en}"]
    if where:
        zh.append(f"面向{regions.name(where, 'zh')}")
        en.append(f"serves {regions.name(where, 'en')}")
    if offer.kind is Kind.CAPITAL:
        if offer.trl is not None and tech.offer.trl is not None:
            zh.append(f"投资阶段 TRL ≥ {offer.trl}，技术已达 TRL {tech.offer.trl}")
            en.append(f"invests from TRL {offer.trl}, the technology is at TRL {tech.offer.trl}")
        if offer.amount is not None:
            stage_fit = ticket_fit(offer.amount, tech.offer.trl)
            if stage_fit == UNKNOWN:
                zh.append(f"单笔 {_money(offer.amount)}")
                en.append(f"ticket {_money(offer.amount)}")
            else:
                suits = stage_fit == 1.0
                zh.append(f"单笔 {_money(offer.amount)}，{'符合' if suits else '不同于'} "
                          f"TRL {tech.offer.trl} 阶段的常见融资规模")
                en.append(f"ticket {_money(offer.amount)}, {'typical' if suits else 'not typical'} "
                          f"of a round at TRL {tech.offer.trl}")
    return LocalizedText(zh="；".join(zh), en="; ".join(en))


def _money(money: MoneyRange) -> str:
    def amount(value: float | None) -> str:
        return "…" if value is None else f"{value:,.0f}"
    return f"{money.currency} {amount(money.min)}–{amount(money.max)}"


def party_needs(tech: Technology, view: EngineView) -> dict[Kind, list[ItemData]]:
    """The needs for capital, service and policy either party of the technology match posted."""
    needs: dict[Kind, list[ItemData]] = {kind: [] for kind in SUPPORT_ROLES}
    for party in tech.parties:
        for item in view.items_of(party):
            if item.side is Side.NEED and item.kind in needs:
                needs[item.kind].append(item)
    return needs


def matched_supports(needs: list[ItemData], view: EngineView) -> dict[str, tuple[str, float]]:
    """Offer id -> (match id, score) of the current matches of the parties' own needs of a kind."""
    return {offer_id: (mid, score) for n in needs for mid, offer_id, _, score in view.pairs_for(n.id)}


def best_support(kind: Kind, tech: Technology, needs: list[ItemData], matched: Mapping[str, tuple[str, float]],
                 view: EngineView) -> SupportFit | None:
    """The best fitting open offer of the market for one support kind (see the module's rules);
    ``needs``: the parties' needs of the kind, ``matched``: their matches (``matched_supports``).

    Exactly the best of every open offer of the kind in the technology's top-level fields, found
    without fitting each: first the offers matched with a party's own need (their match's score
    may count) and those listing one of the technology's field codes (field fit 1); the others
    of its top-level fields (field fit ``SAME_TOP_LEVEL``) only when the best so far does not
    beat the most such an offer can score."""
    best: SupportFit | None = None

    def consider(offer_id: str) -> None:
        nonlocal best
        offer = view.get_item(offer_id)
        fit = support_fit(offer, tech, needs) if offer is not None else None
        if fit is None:
            return
        match = matched.get(offer_id)
        if match is not None:
            fit = SupportFit(fit.offer, max(fit.score, match[1]), fit.where, match[0])
        if best is None or (-fit.score, offer_id) < (-best.score, best.offer.id):
            best = fit

    first = matched.keys() | view.listing_ids(kind, Side.OFFER, tech.fields)
    for offer_id in first:
        consider(offer_id)
    ceiling = round(sum(SUPPORT_WEIGHTS[kind]) - SUPPORT_WEIGHTS[kind][0] * (1 - SAME_TOP_LEVEL), 6)
    if best is not None and best.score > ceiling:
        return best  # no offer sharing only a top-level field can score as high
    for offer_id in view.open_ids(kind, Side.OFFER, tech.top_fields):
        if offer_id not in first:
            consider(offer_id)
    return best


def best_supports(tech: Technology, view: EngineView) -> dict[Kind, SupportFit]:
    """Per support kind, the best fitting open offer of the market (``best_support``)."""
    needs = party_needs(tech, view)
    best = {kind: best_support(kind, tech, needs[kind], matched_supports(needs[kind], view), view)
            for kind in SUPPORT_ROLES}
    return {kind: fit for kind, fit in best.items() if fit is not None}


def _organisation(view: EngineView, participant_id: str) -> LocalizedText | None:
    participant = view.participants.get(participant_id)
    return participant.organisation if participant is not None else None


def among_best(tech_match_id: str, need_id: str, view: EngineView) -> bool:
    """Whether the technology match is one of its need's best ``CONSORTIUM_TOP`` (by score, then
    the offer's id)."""
    return tech_match_id in view.best_ids(need_id, CONSORTIUM_TOP)


def propose(tech_match: ScoredPair, view: EngineView,
            supports_of: Callable[[Technology], dict[Kind, SupportFit]] | None = None) -> ConsortiumData | None:
    """The team around a technology match; None when it is no technology match, not among its
    need's best ``CONSORTIUM_TOP``, or no support role can be filled (two parties alone are a
    match, not a consortium). ``supports_of``: how the support roles are filled (``best_supports``
    unless the ``ConsortiumBook`` knows them)."""
    tech = technology(tech_match.offer.id, tech_match.need.id, view) if tech_match.kind is Kind.TECHNOLOGY else None
    if tech is None or not among_best(tech_match.match_id, tech_match.need.id, view):
        return None
    supports = supports_of(tech) if supports_of is not None else best_supports(tech, view)
    if not supports:
        return None
    why_provider = LocalizedText(zh=f"提供技术：{tech.offer.title.pick('zh')}",
                                 en=f"offers the technology: {tech.offer.title.pick('en')}")
    why_seeker = LocalizedText(zh=f"需求方：{tech.need.title.pick('zh')}",
                               en=f"needs it: {tech.need.title.pick('en')}")
    members = [
        ConsortiumMember(role=ConsortiumRole.TECHNOLOGY_PROVIDER, participant_id=tech_match.offer.owner_id,
                         party_type=tech_match.offer.owner_party_type, item_id=tech_match.offer.id,
                         match_id=tech_match.match_id, score=tech_match.score,
                         organisation=_organisation(view, tech_match.offer.owner_id), reason=why_provider),
        ConsortiumMember(role=ConsortiumRole.TECHNOLOGY_SEEKER, participant_id=tech_match.need.owner_id,
                         party_type=tech_match.need.owner_party_type, item_id=tech_match.need.id,
                         match_id=tech_match.match_id, score=tech_match.score,
                         organisation=_organisation(view, tech_match.need.owner_id), reason=why_seeker),
    ]
    missing: list[ConsortiumRole] = []
    for kind, role in SUPPORT_ROLES.items():
        fit = supports.get(kind)
        if fit is None:
            missing.append(role)
            continue
        members.append(ConsortiumMember(
            role=role, participant_id=fit.offer.owner_id, party_type=fit.offer.owner_party_type,
            item_id=fit.offer.id, match_id=fit.match_id, score=fit.score,
            organisation=_organisation(view, fit.offer.owner_id), reason=reason(fit, tech)))
    filled = sum(m.score or 0.0 for m in members[2:])
    return ConsortiumData(consortium_id=consortium_id(tech_match.match_id), technology_match_id=tech_match.match_id,
                          members=members, missing_roles=missing,
                          score=round((2 * tech_match.score + filled) / ROLE_COUNT, 6))


@dataclass
class _Supports:
    """The support roles last found around one technology match (``best_support`` per kind).
    They hold while ``key`` does — the two items, their places, the parties' needs and those
    needs' matches, objects by identity (``held`` keeps them alive) — and, per kind in
    ``valid``, while the market has not changed in a way that could change the role: a support
    offer that could now win it, or the member itself changing, takes its kind out of ``valid``."""

    key: tuple[Any, ...]
    held: tuple[Any, ...]
    tops: frozenset[str]  # the technology's top-level fields: the support offers that can fill a role
    best: dict[Kind, SupportFit]
    valid: set[Kind]


class ConsortiumBook:
    """Which consortia may have changed since they were last worked out, the support members of
    each, and the support roles found around each technology match among its need's best
    ``CONSORTIUM_TOP``: derived state, rebuilt by noting every technology match after a restart.

    ``note_matches`` and ``note_support_offer`` mark consortia; ``settle`` works each marked one
    out once (however many of its inputs changed) and gives (technology match id, proposal or
    None). A consortium worked out again because its technology match's score moved, or another
    match of its need changed, finds its support roles known (``_Supports``) instead of fitting
    the market's offers again."""

    def __init__(self) -> None:
        self._stale: set[str] = set()  # technology match ids
        self._members: dict[str, dict[Kind, tuple[str, float]]] = {}  # tech match id -> kind -> (offer id, score)
        self._by_support: dict[str, set[str]] = {}  # support offer id -> tech match ids it is a member of
        self._supports: dict[str, _Supports] = {}  # tech match id -> its support roles as last found
        self._in_top: dict[str, set[str]] = {}  # top-level field -> tech match ids of ``_supports`` in it
        self._found: set[str] = set()  # the tech match ids whose support roles the current ``settle`` found

    def note(self, technology_match_ids: Iterable[str]) -> None:
        self._stale.update(technology_match_ids)

    def note_matches(self, touched: Iterable[MatchChange], view: EngineView) -> None:
        """Technology matches whose consortium may change: the touched ones (retracted ones
        too) and the other matches of their needs (one may have entered or left the need's best
        ``CONSORTIUM_TOP``), and those of a party in need of a touched capital, service or policy
        match."""
        needy: set[str] = set()
        for change in touched:
            m = change.match
            if m.kind is Kind.TECHNOLOGY:
                # a decline for one participant leaves the match and its team; declined by both
                # sides, the match is gone, and so is its team
                if change.for_participant is None or view.record(m.match_id) is None:
                    self._stale.add(m.match_id)
                    self._stale.update(view.match_ids_of(m.need.id))
            else:
                needy.add(m.need.owner_id)
        for party in needy:
            for item in view.items_of(party):
                if item.kind is Kind.TECHNOLOGY:
                    self._stale.update(view.match_ids_of(item.id))

    def note_participant(self, participant_id: str, view: EngineView) -> None:
        """A participant registered or changed (its organisation's name): the consortia it is
        a member of show it anew."""
        for item in view.items_of(participant_id):
            if item.kind is Kind.TECHNOLOGY:
                self._stale.update(view.match_ids_of(item.id))
            elif item.side is Side.OFFER:
                self._stale.update(self._by_support.get(item.id, ()))

    def note_support_offer(self, offer: ItemData, view: EngineView, now: datetime) -> None:
        """A capital, service or policy offer was posted, changed or withdrawn: the consortia it
        is a member of, and those in its fields it would now win, may change.

        Only technology matches whose support roles were found (those among their need's best
        ``CONSORTIUM_TOP``: any other gets no consortium whatever the market offers, and has none
        to retract) in the offer's top-level fields are looked at, and the offer is fitted only
        where its best possible fit (``fit_ceiling``) could beat the member of its role. A match
        is marked as before (the offer would beat the member, or fills a team-less match's role)
        where the offer reaches it through its technology offer's fields; the role found is
        forgotten wherever the offer would beat it, or was it."""
        if offer.side is not Side.OFFER or offer.kind not in SUPPORT_ROLES:
            return
        for tech_match_id in self._by_support.get(offer.id, ()):
            self._stale.add(tech_match_id)
            if (entry := self._supports.get(tech_match_id)) is not None:
                entry.valid.clear()
        if not is_live(offer, now):
            return
        kind, ceiling = offer.kind, fit_ceiling(offer)
        tops = {taxonomy.top_level(c) for c in offer.fields}
        for tech_match_id in set().union(*(self._in_top.get(top, ()) for top in tops)):
            entry = self._supports[tech_match_id]
            members = self._members.get(tech_match_id)
            current = members.get(kind) if members is not None else None
            marks = tech_match_id not in self._stale and (
                current is None or (-ceiling, offer.id) < (-current[1], current[0]))
            known = entry.best.get(kind)
            forgets = kind in entry.valid and (known is None or (-ceiling, offer.id) < (-known.score, known.offer.id))
            if not marks and not forgets:
                continue  # it cannot win the role
            tech_match = view.record(tech_match_id)
            tech = technology(tech_match.offer.id, tech_match.need.id, view) if tech_match is not None else None
            if tech_match is None or tech is None:
                continue  # gone: marked when it went, its roles forgotten when settled
            fit = support_fit(offer, tech, party_needs(tech, view)[kind])
            if fit is None:
                continue
            if forgets and (known is None or (-fit.score, offer.id) < (-known.score, known.offer.id)):
                entry.valid.discard(kind)
            # (a match with a party's own need re-works the consortium through note_matches)
            if marks and (current is None or (-fit.score, offer.id) < (-current[1], current[0])) \
                    and any(taxonomy.top_level(c) in tops for c in tech.offer.fields) \
                    and (members is not None or among_best(tech_match_id, tech_match.need.id, view)):
                self._stale.add(tech_match_id)

    def _supports_for(self, tech_match_id: str, tech: Technology, view: EngineView) -> dict[Kind, SupportFit]:
        """The support roles around a technology match: as last found where that still holds."""
        needs = party_needs(tech, view)
        matched = {kind: matched_supports(needs[kind], view) for kind in SUPPORT_ROLES}
        key = (id(tech.offer), id(tech.need), tech.places, tuple(id(n) for kind in SUPPORT_ROLES for n in needs[kind]),
               tuple(sorted((kind.value, offer_id, *match) for kind, by_offer in matched.items()
                            for offer_id, match in by_offer.items())))
        entry = self._supports.get(tech_match_id)
        if entry is None or entry.key != key:
            self._forget_supports(tech_match_id)
            entry = _Supports(key, (tech.offer, tech.need, needs), frozenset(tech.top_fields), {}, set())
            self._supports[tech_match_id] = entry
            for top in entry.tops:
                self._in_top.setdefault(top, set()).add(tech_match_id)
        for kind in SUPPORT_ROLES:
            if kind not in entry.valid:
                fit = best_support(kind, tech, needs[kind], matched[kind], view)
                if fit is None:
                    entry.best.pop(kind, None)
                else:
                    entry.best[kind] = fit
                entry.valid.add(kind)
        self._found.add(tech_match_id)
        return dict(entry.best)

    def _forget_supports(self, tech_match_id: str) -> None:
        entry = self._supports.pop(tech_match_id, None)
        if entry is None:
            return
        for top in entry.tops:
            linked = self._in_top[top]
            linked.discard(tech_match_id)
            if not linked:
                del self._in_top[top]

    def settle(self, view: EngineView) -> list[tuple[str, ConsortiumData | None]]:
        result: list[tuple[str, ConsortiumData | None]] = []
        self._found = set()
        for tech_match_id in sorted(self._stale):
            tech_match = view.record(tech_match_id)
            proposal = propose(tech_match, view, partial(self._supports_for, tech_match_id, view=view)) \
                if tech_match is not None else None
            self._remember(tech_match_id, proposal)
            if tech_match_id not in self._found:  # no longer among its need's best: no roles to keep
                self._forget_supports(tech_match_id)
            result.append((tech_match_id, proposal))
        self._stale.clear()
        return result

    def _remember(self, tech_match_id: str, proposal: ConsortiumData | None) -> None:
        for offer_id, _ in self._members.pop(tech_match_id, {}).values():
            linked = self._by_support.get(offer_id)
            if linked is not None:
                linked.discard(tech_match_id)
                if not linked:
                    del self._by_support[offer_id]
        if proposal is None:
            return
        members = {kind: (m.item_id, m.score or 0.0) for kind, role in SUPPORT_ROLES.items()
                   for m in proposal.members if m.role is role}
        self._members[tech_match_id] = members
        for offer_id, _ in members.values():
            self._by_support.setdefault(offer_id, set()).add(tech_match_id)


def consortium_is_news(last: Mapping[str, Any], new: ConsortiumData) -> bool:
    """Whether a consortium worked out again is worth a ``consortium.updated``: another team (who
    fills which role with which match, under which name), other missing roles, or a score moved by
    more than the engine's ``UPDATE_EPSILON``; members' score drift alone is not news.
    ``last`` is the ledger's JSON of the last consortium sent."""
    last_team = [(m["role"], m["participant_id"], m["item_id"], m["match_id"], m.get("organisation"))
                 for m in last["members"]]
    new_team = [(m.role.value, m.participant_id, m.item_id, m.match_id,
                 m.organisation.model_dump(mode="json") if m.organisation else None) for m in new.members]
    return (last_team != new_team or last["missing_roles"] != [r.value for r in new.missing_roles]
            or abs(last["score"] - new.score) > UPDATE_EPSILON)
