"""What a decline teaches: lower the score of candidates similar to the one declined.

The rule: when participant P declines a match, P's item and the declined partner item are
remembered with the reason. Later, any pair of the same kind in which P owns one side and the
other side shares a field code with the declined partner is multiplied by ``1 - strength``:

====================== ======== =================================================
reason                 strength also requires
====================== ======== =================================================
not_our_field          0.40     —
too_early_stage        0.30     the candidate's TRL unknown or ≤ the declined one's
route_to_market_unclear 0.20    —
no_clear_benefit       0.15     —
other                  0.10     —
====================== ======== =================================================

Several penalties multiply, but the factor never falls below ``FLOOR`` (0.4), so a participant
who declines often still gets matches. The declined pair itself is never proposed again.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.events.listing import ItemData
from shared.events.matching import DeclineReason
from shared.party_types import Kind

STRENGTH: dict[DeclineReason, float] = {
    DeclineReason.NOT_OUR_FIELD: 0.40,
    DeclineReason.TOO_EARLY: 0.30,
    DeclineReason.ROUTE_TO_MARKET: 0.20,
    DeclineReason.NO_CLEAR_BENEFIT: 0.15,
    DeclineReason.OTHER: 0.10,
}
FLOOR = 0.4


@dataclass(frozen=True)
class Penalty:
    kind: Kind
    partner_fields: frozenset[str]
    partner_trl: int | None
    reason: DeclineReason

    def applies_to(self, candidate: ItemData) -> bool:
        if candidate.kind is not self.kind or self.partner_fields.isdisjoint(candidate.fields):
            return False
        if self.reason is DeclineReason.TOO_EARLY and self.partner_trl is not None:
            return candidate.trl is None or candidate.trl <= self.partner_trl
        return True


class FeedbackPenalties:
    """The penalties learnt from declines, per declining participant."""

    def __init__(self) -> None:
        self._by_participant: dict[str, list[Penalty]] = {}

    def __bool__(self) -> bool:
        return bool(self._by_participant)

    def record(self, participant_id: str, partner: ItemData, reason: DeclineReason | None) -> None:
        penalty = Penalty(partner.kind, frozenset(partner.fields), partner.trl, reason or DeclineReason.OTHER)
        penalties = self._by_participant.setdefault(participant_id, [])
        if penalty not in penalties:
            penalties.append(penalty)

    def factor(self, offer: ItemData, need: ItemData) -> float:
        """The multiplier (FLOOR..1) for this pair: 1 when nobody involved declined anything similar."""
        factor = 1.0
        for owner, candidate in ((offer.owner_id, need), (need.owner_id, offer)):
            for penalty in self._by_participant.get(owner, ()):
                if penalty.applies_to(candidate):
                    factor *= 1 - STRENGTH[penalty.reason]
        return max(FLOOR, factor)
