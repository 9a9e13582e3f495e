"""The outcome signal: per field and party-type pair, the signed share of ended deals smoothed to
the overall share, as a prior bounded to ±0.05 and 0 until five deals of the key ended."""

from __future__ import annotations

from services.deals.domain import outcomes
from services.deals.domain.funnel import FunnelCounts, Step, outcome_key
from shared.events.deals import PRIOR_CAP, CloseReason

KEY = outcome_key("5G", "university>enterprise")


def counts(signed: int, closed: int, key: str = KEY) -> FunnelCounts:
    return FunnelCounts(key=key, counts={**dict.fromkeys(Step, 0), Step.SIGNED: signed},
                        closed={"price_gap": closed} if closed else {})


OVERALL = counts(18, 80, "all")  # baseline (18 + 1) / (98 + 2) = 0.19


def test_too_few_ended_deals_give_no_prior():
    assert outcomes.prior(counts(4, 0), OVERALL) == 0.0


def test_a_key_that_converts_gets_a_small_bonus_and_one_that_never_does_a_small_malus():
    assert outcomes.baseline(OVERALL) == 0.19
    assert outcomes.prior(counts(2, 8), OVERALL) == 0.005  # (2 + 10 × 0.19) / 20 − 0.19
    assert outcomes.prior(counts(1, 9), OVERALL) == -0.045  # (1 + 1.9) / 20 − 0.19


def test_the_prior_is_bounded_however_strong_the_evidence():
    assert outcomes.prior(counts(500, 0), OVERALL) == PRIOR_CAP
    assert outcomes.prior(counts(0, 500), OVERALL) == -PRIOR_CAP


def test_the_event_names_the_field_and_pair_and_carries_the_counts():
    data = outcomes.prior_data(KEY, counts(3, 12), OVERALL, version=4)
    assert (data.field, data.offer_party_type.value, data.need_party_type.value, data.version) == (
        "5G", "university", "enterprise", 4)
    assert (data.signed, data.closed, data.baseline) == (3, {CloseReason.PRICE: 12}, 0.19)
    assert (data.conversion, data.prior) == (0.196, 0.006)  # (3 + 1.9) / 25
