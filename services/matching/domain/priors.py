"""Deal outcomes as a ranking signal (成交反馈): the deals service's conversion priors.

The deals service publishes, per first-level field and party-type pair (``<field>|<offer>><need>``,
``shared.events.deals.prior_key``), how its deals end as a bounded prior (``prior``, at most
``PRIOR_CAP`` = 0.05 score points either way; 0 until the key has 5 ended deals). Here:

- **How much of it ranks**: ``WEIGHT`` = 0.5 of it, so a prior moves a score by at most
  ``bound`` = ±0.025. Measured on the labelled set (``bench.matching_priors``): random priors at
  the full ±0.05 cost a reached figure in 9 of 20 runs (expected offers lie within 0.002 of their
  runner-up); at ±0.025 none of 20 did.

- **Which prior a pair gets**: the mean prior of the keys of its two items' first-level fields
  with its party-type pair (the keys the deals service counts the match under); a key without a
  record counts 0 (no evidence: as all deals), times ``WEIGHT``, bounded to ±``bound``.
- **Where it acts**: only on pairs that passed every hard rule, evidence included, and only on
  ranking. A pair is a match when its *content score* (the seven features, after a decline
  penalty) reaches the threshold; the prior is added after that test, so it never admits a pair
  (however positive) nor excludes one (however negative). It moves the score that ranks an
  item's partners (top-k on both sides, the order shown, the agenda's pairs): it reorders
  candidates within ``bound`` of each other.
- **Shown**: a pair with a non-zero prior carries a ``conversion`` feature (``value`` 0.5 + prior
  / (2 × bound): 0.5 as all deals, 1 the bound above, 0 the bound below; ``weight`` the bound;
  ``contribution`` the prior itself, negative when it lowers the score) and an explanation line.
  A pair without one is scored and explained exactly as before priors existed.
"""

from __future__ import annotations

from shared import taxonomy
from shared.events.deals import PRIOR_CAP, prior_key
from shared.events.listing import ItemData

# How much of the published prior ranks (bench/matching_priors.py measures 1, 0.5 and 0.2 of it on
# the labelled set): half, the most at which no random set of priors cost a reached figure.
WEIGHT = 0.5
NEUTRAL = 0.5  # the conversion feature's value of a prior of 0


def keys_of(offer: ItemData, need: ItemData) -> list[str]:
    """The prior keys of a pair: each first-level field of its two items with its party-type pair."""
    tops = sorted({taxonomy.top_level(code) for code in (*offer.fields, *need.fields)})
    return [prior_key(top, offer.owner_party_type, need.owner_party_type) for top in tops]


def feature_value(prior: float, bound: float) -> float:
    """A pair's prior on the 0–1 scale of a feature's value (``NEUTRAL`` for none), ``bound`` the
    most a prior moves a score (``ConversionPriors.bound``)."""
    return round(NEUTRAL + prior / (2 * bound), 6)


class ConversionPriors:
    """The latest prior per key, as read from the ``conversion-priors`` topic."""

    def __init__(self, weight: float = WEIGHT) -> None:
        self.weight = weight
        self.bound = round(weight * PRIOR_CAP, 6)  # the most a prior moves a pair's score, either way
        self._by_key: dict[str, float] = {}
        self.most = 0.0  # the most any pair's prior can add: bounds the index's pruning

    def __bool__(self) -> bool:
        return bool(self._by_key)

    def set(self, key: str, prior: float) -> bool:
        """Record a key's prior; whether it changed."""
        prior = max(-PRIOR_CAP, min(PRIOR_CAP, prior))
        if self._by_key.get(key, 0.0) == prior:
            return False
        if prior == 0.0:
            self._by_key.pop(key, None)
        else:
            self._by_key[key] = prior
        self.most = max((self.weight * p for p in self._by_key.values()), default=0.0)
        self.most = min(self.bound, max(0.0, self.most))
        return True

    def get(self, key: str) -> float:
        return self._by_key.get(key, 0.0)

    def of(self, offer: ItemData, need: ItemData) -> float:
        """The pair's prior: the mean of its keys' priors, weighted and bounded."""
        if not self._by_key:
            return 0.0
        keys = keys_of(offer, need)
        if not keys:
            return 0.0
        mean = sum(self._by_key.get(k, 0.0) for k in keys) / len(keys)
        return round(max(-self.bound, min(self.bound, self.weight * mean)), 6)
