"""Five-party consortia (五方联动) around technology matches.

Around one technology match (provider's offer ↔ seeker's need), each of the roles capital,
service and policy is filled by the best current match of that kind in which either party of
the technology match is the one in need: the best investor ticket, agency service or government
programme matched to the provider's or the seeker's capital, service or policy need. Ties go to
the lower match id. The consortium score is the mean over the five roles (a missing role counts
0), so a complete team outranks a partial one. The consortium id derives from the technology
match id, so replays give the same id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from shared.events.listing import ItemData
from shared.events.matching import (
    ConsortiumData, ConsortiumMember, ConsortiumRetractedData, ConsortiumRole, MatchData,
)
from shared.party_types import Kind, Side

from services.matching.domain.engine import MatchChange

CONSORTIUM_PROPOSED = "consortium.proposed.v1"
CONSORTIUM_UPDATED = "consortium.updated.v1"
CONSORTIUM_RETRACTED = "consortium.retracted.v1"

SUPPORT_ROLES: dict[Kind, ConsortiumRole] = {
    Kind.CAPITAL: ConsortiumRole.CAPITAL,
    Kind.SERVICE: ConsortiumRole.SERVICE,
    Kind.POLICY: ConsortiumRole.POLICY,
}
ROLE_COUNT = 5


class EngineView(Protocol):
    """What a proposal reads from the match engine (``MatchEngine`` satisfies it)."""

    def items_of(self, owner_id: str) -> list[ItemData]: ...

    def matches_for(self, item_id: str) -> list[MatchData]: ...

    def match(self, match_id_: str) -> MatchData | None: ...


@dataclass(frozen=True)
class ConsortiumChange:
    event_type: str  # CONSORTIUM_PROPOSED, CONSORTIUM_UPDATED or CONSORTIUM_RETRACTED
    data: ConsortiumData | ConsortiumRetractedData


def consortium_id(technology_match_id: str) -> str:
    return "c_" + hashlib.sha256(technology_match_id.encode()).hexdigest()[:24]


def propose(tech_match: MatchData, engine_view: EngineView) -> ConsortiumData | None:
    """The team around a technology match, or None when it is not a technology match."""
    if tech_match.kind is not Kind.TECHNOLOGY:
        return None
    members = [
        ConsortiumMember(role=ConsortiumRole.TECHNOLOGY_PROVIDER, participant_id=tech_match.offer.owner_id,
                         party_type=tech_match.offer.party_type, item_id=tech_match.offer.item_id,
                         match_id=tech_match.match_id, score=tech_match.score),
        ConsortiumMember(role=ConsortiumRole.TECHNOLOGY_SEEKER, participant_id=tech_match.need.owner_id,
                         party_type=tech_match.need.party_type, item_id=tech_match.need.item_id,
                         match_id=tech_match.match_id, score=tech_match.score),
    ]
    parties = (tech_match.offer.owner_id, tech_match.need.owner_id)
    supports = _best_supports(engine_view, parties)
    missing: list[ConsortiumRole] = []
    for kind, role in SUPPORT_ROLES.items():
        best = supports.get(kind)
        if best is None:
            missing.append(role)
            continue
        members.append(ConsortiumMember(role=role, participant_id=best.offer.owner_id,
                                        party_type=best.offer.party_type, item_id=best.offer.item_id,
                                        match_id=best.match_id, score=best.score))
    filled = sum(m.score or 0.0 for m in members[2:])
    return ConsortiumData(consortium_id=consortium_id(tech_match.match_id), technology_match_id=tech_match.match_id,
                          members=members, missing_roles=missing,
                          score=round((2 * tech_match.score + filled) / ROLE_COUNT, 6))


def _best_supports(view: EngineView, parties: tuple[str, str]) -> dict[Kind, MatchData]:
    """Per support kind, the best match of a need of either party with an outside offer."""
    best: dict[Kind, MatchData] = {}
    for party in parties:
        for item in view.items_of(party):
            if item.side is not Side.NEED or item.kind not in SUPPORT_ROLES:
                continue
            for m in view.matches_for(item.id):
                known = best.get(item.kind)
                if m.offer.owner_id not in parties and (
                        known is None or (-m.score, m.match_id) < (-known.score, known.match_id)):
                    best[item.kind] = m
    return best


def consortium_change(old: ConsortiumData | None, new: ConsortiumData | None,
                      reason: str = "technology match retracted") -> ConsortiumChange | None:
    """proposed (none before), updated (different), retracted (none now) or None (unchanged)."""
    if new is not None:
        if old is None:
            return ConsortiumChange(CONSORTIUM_PROPOSED, new)
        return ConsortiumChange(CONSORTIUM_UPDATED, new) if new != old else None
    if old is None:
        return None
    return ConsortiumChange(CONSORTIUM_RETRACTED, ConsortiumRetractedData(
        consortium_id=old.consortium_id, technology_match_id=old.technology_match_id,
        participant_ids=sorted({m.participant_id for m in old.members}), reason=reason))


class ConsortiumBook:
    """The current proposals; ``refresh`` turns match changes into consortium changes."""

    def __init__(self) -> None:
        self._proposals: dict[str, ConsortiumData] = {}  # by technology match id

    def get(self, consortium_id_: str) -> ConsortiumData | None:
        return next((c for c in self._proposals.values() if c.consortium_id == consortium_id_), None)

    def all(self) -> list[ConsortiumData]:
        return [self._proposals[k] for k in sorted(self._proposals)]

    def for_participant(self, participant_id: str) -> list[ConsortiumData]:
        return [c for c in self.all() if any(m.participant_id == participant_id for m in c.members)]

    def refresh(self, engine: EngineView, changes: Iterable[MatchChange]) -> list[ConsortiumChange]:
        affected: set[str] = set()
        for change in changes:
            data = change.data
            if data.kind is Kind.TECHNOLOGY:
                affected.add(data.match_id)
            else:  # a support match changed: every technology match of the party in need may change
                affected |= self._technology_matches_of(engine, data.need.owner_id)
        result: list[ConsortiumChange] = []
        for tech_match_id in sorted(affected):
            tech_match = engine.match(tech_match_id)
            new = propose(tech_match, engine) if tech_match is not None else None
            change = consortium_change(self._proposals.get(tech_match_id), new)
            if change is None:
                continue
            if new is None:
                del self._proposals[tech_match_id]
            else:
                self._proposals[tech_match_id] = new
            result.append(change)
        return result

    def _technology_matches_of(self, engine: EngineView, owner_id: str) -> set[str]:
        current = {m.match_id for item in engine.items_of(owner_id) if item.kind is Kind.TECHNOLOGY
                   for m in engine.matches_for(item.id)}
        # technology matches already retracted still need their consortium retracted
        known = {k for k, c in self._proposals.items() if any(m.participant_id == owner_id for m in c.members[:2])}
        return current | known
