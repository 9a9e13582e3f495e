"""The funnel's keys per match and the figures read back from a counter document."""

from __future__ import annotations

from decimal import Decimal

from services.deals.domain.funnel import FunnelCounts, Increment, Step, match_keys


def test_a_match_counts_under_all_its_pair_first_level_fields_regions_provinces_strategies_and_outcome_keys():
    assert match_keys("university", "enterprise", ["5G", "EIT.IC", "5G"], ["CN-SC.CD", "CN-GD.SZ"]) == [
        "all", "field:5G", "field:EIT", "outcome:5G|university>enterprise", "outcome:EIT|university>enterprise",
        "pair:university>enterprise", "region:CN-GD", "region:CN-GD.SZ", "region:CN-SC", "region:CN-SC.CD",
        "strategy:chengyu", "strategy:greater_bay"]


def test_an_increment_adds_the_step_its_time_and_its_turnover():
    assert Increment(Step.SIGNED, 86400.0, amount_cents=120_000_000, currency="CNY").as_inc() == {
        "signed": 1, "seconds.signed": 86400.0, "timed.signed": 1, "turnover_cents.CNY": 120_000_000}
    assert Increment(Step.MADE).as_inc() == {"made": 1}
    assert Increment(None, closed_reason="price_gap").as_inc() == {"closed.price_gap": 1}


def test_counts_read_back_with_conversion_mean_days_and_turnover():
    counts = FunnelCounts.of("all", {"made": 4, "accepted": 2, "met": 1, "signed": 1,
                                     "seconds": {"met": 172800.0}, "timed": {"met": 1},
                                     "turnover_cents": {"CNY": 120_000_050}, "closed": {"no_funding": 2}})
    assert counts.conversion(Step.ACCEPTED) == 0.5
    assert counts.mean_days(Step.MET) == 2.0
    assert counts.mean_days(Step.SIGNED) is None
    assert counts.turnover() == {"CNY": Decimal("1200000.50")}
    assert counts.closed == {"no_funding": 2}
    empty = FunnelCounts.of("field:BIO", None)
    assert (empty.counts[Step.MADE], empty.conversion(Step.ACCEPTED)) == (0, None)
