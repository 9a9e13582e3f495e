"""Outcomes as a signal for matching: per first-level field and party-type pair, the share of its
ended deals that signed a contract, smoothed towards the share over all deals, as a small bounded
prior a ranking may add to a match's score.

- **Evidence**: a deal counts once it ended: signed (``contract_signed``) or closed without a
  contract (any reason). Open deals say nothing yet.
- **Smoothing**: ``conversion = (signed + STRENGTH × baseline) / (ended + STRENGTH)``, with
  ``baseline = (all signed + 1) / (all ended + 2)``: a key with few ended deals stays near the
  baseline, so one lucky contract moves nothing much.
- **Bound**: ``prior = conversion − baseline`` clipped to ±``CAP`` (score points on matching's
  0–1 scale), and 0 below ``MIN_ENDED`` ended deals for the key. A prior only reorders candidates
  that passed every hard rule; it never admits or excludes one.
"""

from __future__ import annotations

from services.deals.domain.funnel import OUTCOME, FunnelCounts, Step
from shared.events.deals import PRIOR_CAP, CloseReason, ConversionPriorData
from shared.party_types import PartyType

CAP = PRIOR_CAP
STRENGTH = 10.0
MIN_ENDED = 5


def is_outcome_key(counter_key: str) -> bool:
    return counter_key.startswith(f"{OUTCOME}:")


def parse(outcome_key: str) -> tuple[str, str, str]:
    """(field, offer party type, need party type) of an outcome key (``funnel.outcome_key``)."""
    field, pair = outcome_key.removeprefix(f"{OUTCOME}:").split("|", 1)
    offer, need = pair.split(">", 1)
    return field, offer, need


def ended(counts: FunnelCounts) -> int:
    return counts.counts[Step.SIGNED] + sum(counts.closed.values())


def baseline(overall: FunnelCounts) -> float:
    return (overall.counts[Step.SIGNED] + 1) / (ended(overall) + 2)


def conversion(counts: FunnelCounts, base: float) -> float:
    return (counts.counts[Step.SIGNED] + STRENGTH * base) / (ended(counts) + STRENGTH)


def prior_data(outcome_key: str, counts: FunnelCounts, overall: FunnelCounts, version: int) -> ConversionPriorData:
    """The key's signal as its event carries it."""
    field, offer, need = parse(outcome_key)
    base = baseline(overall)
    return ConversionPriorData(field=field, offer_party_type=PartyType(offer), need_party_type=PartyType(need),
                               signed=counts.counts[Step.SIGNED],
                               closed={CloseReason(r): n for r, n in counts.closed.items()},
                               conversion=round(conversion(counts, base), 4), baseline=round(base, 4),
                               prior=prior(counts, overall), version=version)


def prior(counts: FunnelCounts, overall: FunnelCounts) -> float:
    """The bounded prior of a key, from its counters and the overall ones."""
    if ended(counts) < MIN_ENDED:
        return 0.0
    base = baseline(overall)
    return round(max(-CAP, min(CAP, conversion(counts, base) - base)), 4)
