from datetime import timedelta

import pytest

from shared.events.common import MoneyRange
from shared.events.listing import ItemStatus, TransferMode
from shared.events.matching import DeclineReason, match_id
from shared.party_types import Kind, PartyType

from services.matching.domain.feedback import FeedbackPenalties
from services.matching.domain.scoring import (
    FEATURES, WEIGHTS, Rule, amount_fit, amounts_overlap, broken_rule, field_overlap, pair_score, region_fit,
    score_pair, trl_fit,
)
from services.matching.domain.explanation import render
from services.matching.domain.text import TextModel
from tests.unit.matching.factories import NOW, need, offer


def test_weights_sum_to_one_and_cover_every_feature():
    assert sum(WEIGHTS.values()) == pytest.approx(1.0)
    assert set(FEATURES) == set(WEIGHTS)


def test_a_good_pair_is_scored_and_explained_in_both_languages():
    o = offer("o", fields=["5G.RAN"], zh="毫米波基站射频芯片", trl=6, amount=(1e6, 5e6), region="CN-SC.CD")
    n = need("n", fields=["5G.RAN"], zh="基站射频芯片", trl=5, amount=(2e6, 3e6), region_preference=["CN-SC"])
    scored = render(score_pair(o, n, now=NOW))
    assert 0.8 < scored.score <= 1
    assert [f.name for f in scored.features] == list(FEATURES)
    assert all(0 <= f.value <= 1 for f in scored.features)
    assert sum(f.contribution for f in scored.features) == pytest.approx(scored.score, abs=1e-5)
    zh, en = scored.explanation.zh, scored.explanation.en
    assert zh[0] == "领域：5G通信 · 无线接入网"
    assert "TRL 6 满足需求 ≥ 5" in zh
    assert "预算区间重叠（报价 CNY 1,000,000–5,000,000，预算 CNY 2,000,000–3,000,000）" in zh
    assert "转化方式：双方均未限定" in zh and "Transfer mode: neither side sets one" in en
    assert zh[1] == "文本相关度 1.00（共同关键词：基站、射频、芯片）"
    assert "地域：在偏好的四川范围内（成都）" in zh
    assert en[0] == "Field: 5G communications · Radio access network"
    assert len(zh) == len(en)
    assert pair_score(o, n, now=NOW) == scored.score


@pytest.mark.parametrize("change", [
    {"kind": Kind.CAPITAL, "party": PartyType.INVESTOR},
    {"status": ItemStatus.WITHDRAWN},
    {"expires_at": NOW - timedelta(seconds=1)},
    {"transfer_modes": [TransferMode.EQUITY]},
    {"party": PartyType.AGENCY},  # an agency may not offer technology
    {"owner": "p-n"},  # nobody matches with themselves
])
def test_hard_filters_return_none(change):
    n = need("n", transfer_modes=[TransferMode.LICENCE, TransferMode.ASSIGNMENT])
    assert score_pair(offer("o", **{"transfer_modes": [TransferMode.LICENCE], **change}), n, now=NOW) is None
    assert score_pair(offer("o", transfer_modes=[TransferMode.LICENCE]), n, now=NOW) is not None


def test_pairs_with_nothing_in_common_are_not_scored():
    assert score_pair(offer("o", fields=["BIO.DRUG"], en="antibody"), need("n", fields=["5G.RAN"], en="radio"),
                      now=NOW) is None


def test_same_sub_field_beats_same_top_level_beats_nothing():
    assert field_overlap(["5G.RAN"], ["5G.RAN", "BIO.DX"]) == 1.0
    assert field_overlap(["5G.RAN"], ["5G.OPT"]) == 0.5
    assert field_overlap(["5G.RAN"], ["BIO.DX"]) == 0.0


def test_trl_meets_the_minimum_or_is_unknown():
    assert trl_fit(6, 5) == 1.0 and trl_fit(3, None) == 1.0
    assert trl_fit(None, 5) == 0.5


def test_amount_ranges():
    assert amount_fit(MoneyRange(min=1, max=5), MoneyRange(min=4, max=9)) == 1.0
    assert amount_fit(None, MoneyRange(max=1)) == 1.0
    assert amount_fit(MoneyRange(min=1, currency="USD"), MoneyRange(max=1)) == 0.5
    assert amounts_overlap(MoneyRange(min=5), MoneyRange(max=5))
    assert not amounts_overlap(MoneyRange(min=10, max=None), MoneyRange(min=None, max=9))


# --- the hard rules (README: rule table), one test per rule kind ------------------------------

def _broken(o, n):
    return broken_rule(o, n, NOW)


def test_rule_trl_floor_excludes_an_offer_below_the_needs_minimum():
    n = need("n", zh="射频芯片", trl=6)
    assert _broken(offer("o", zh="射频芯片", trl=4), n) is Rule.TRL_FLOOR
    assert score_pair(offer("o", zh="射频芯片", trl=4), n, now=NOW) is None
    assert _broken(offer("o", zh="射频芯片", trl=6), n) is None
    unknown = render(score_pair(offer("o", zh="射频芯片"), n, now=NOW))  # no TRL stated: allowed, half the feature
    assert unknown is not None and unknown.features[2].value == 0.5


def test_rule_transfer_mode_needs_one_mode_in_common():
    n = need("n", transfer_modes=[TransferMode.LICENCE])
    assert _broken(offer("o", transfer_modes=[TransferMode.ASSIGNMENT]), n) is Rule.TRANSFER_MODE
    assert _broken(offer("o", transfer_modes=[TransferMode.ASSIGNMENT, TransferMode.LICENCE]), n) is None
    assert _broken(offer("o"), n) is None
    scored = render(score_pair(offer("o", transfer_modes=[TransferMode.LICENCE, TransferMode.EQUITY]), n, now=NOW))
    assert "转化方式：双方均接受许可" in scored.explanation.zh
    assert "Transfer mode: both accept licence" in scored.explanation.en


def test_rule_amount_ranges_excludes_a_price_above_the_whole_budget():
    n = need("n", amount=(1e6, 2e6))
    assert _broken(offer("o", amount=(3e6, 5e6)), n) is Rule.AMOUNT_RANGES
    assert score_pair(offer("o", amount=(3e6, 5e6)), n, now=NOW) is None
    assert _broken(offer("o", amount=(2e6, 5e6)), n) is None
    assert _broken(offer("o", amount=(3e6, None)), need("n", amount=(None, None))) is None


def test_rule_required_region_is_a_filter_a_preference_is_not():
    wanted = {"region_preference": ["RS-YRD"]}
    assert _broken(offer("o", region="CN-SC.CD"), need("n", region_required=True, **wanted)) is Rule.REQUIRED_REGION
    assert _broken(offer("o"), need("n", region_required=True, **wanted)) is Rule.REQUIRED_REGION  # region unknown
    assert _broken(offer("o", region="CN-JS.SZ"), need("n", region_required=True, **wanted)) is None
    assert _broken(offer("o", region="CN-SC.CD"), need("n", **wanted)) is None  # preferred only: scored lower
    assert _broken(offer("o", region="CN-SC.CD", region_required=True, **wanted), need("n", region="CN-SC.CD")) \
        is Rule.REQUIRED_REGION  # the offer's requirement binds the need's region too


def test_rule_evidence_a_shared_top_level_field_alone_is_not_a_match():
    same_top = score_pair(offer("o", fields=["5G.RAN"], zh="光纤放大器"), need("n", fields=["5G.OPT"], zh="天线阵列"),
                          now=NOW)
    assert same_top is None
    assert score_pair(offer("o", fields=["5G.RAN"], zh="光纤"), need("n", fields=["5G.RAN"], zh="天线"),
                      now=NOW) is not None  # a shared sub-field is evidence
    assert score_pair(offer("o", fields=["5G.RAN"], zh="天线阵列"), need("n", fields=["5G.OPT"], zh="天线阵列"),
                      now=NOW) is not None  # so is shared text


def test_region_strategy_named_in_the_explanation():
    scored = render(score_pair(offer("o", region="CN-JS.SZ"),
                               need("n", region="CN-SH.SH", region_preference=["RS-YRD"]), now=NOW))
    assert "地域：在偏好的长三角范围内（苏州、上海市），同属长三角区域战略" in scored.explanation.zh
    assert ("Region: within the preferred Yangtze River Delta (Suzhou, Shanghai), both in the Yangtze River Delta "
            "strategy") in scored.explanation.en


def test_region_same_city_above_strategy_above_elsewhere_and_no_preference_no_penalty():
    def fit(region):
        return region_fit(offer("o", region=region), need("n", region_preference=["CN-SC.CD"]))

    assert fit("CN-SC.CD") == 1.0
    assert fit("CN-SC.CD") > fit("CN-CQ.CQ") > fit("CN-BJ.BJ")
    assert region_fit(offer("o", region="CN-BJ.BJ"), need("n")) == 1.0


def test_freshness_lowers_older_pairs():
    fresh = pair_score(offer("o", age_days=1), need("n"), now=NOW)
    stale = pair_score(offer("o", age_days=365), need("n"), now=NOW)
    assert fresh > stale


def test_text_relevance_uses_corpus_statistics_over_chinese_and_english():
    model = TextModel()
    o = offer("o", zh="毫米波功率放大器芯片", en="mmWave power amplifier")
    for i in (o, offer("x1", zh="芯片设计"), offer("x2", zh="芯片封装")):
        model.add(i)
    rare = model.relevance(o, need("n1", zh="毫米波功率放大器"))
    common = model.relevance(o, need("n2", zh="芯片设计"))
    english = model.relevance(o, need("n3", en="power amplifier"))
    assert rare > common > 0 and english > 0
    assert model.relevance(o, need("n4", en="antibody")) == 0.0


def test_text_model_forgets_removed_items():
    model = TextModel()
    model.add(offer("a", en="beamforming"))
    before = model.idf("beamforming")
    model.add(offer("b", en="beamforming"))
    model.remove("b")
    assert model.idf("beamforming") == before and len(model) == 1


def test_a_decline_penalty_lowers_similar_pairs_and_is_explained():
    penalties = FeedbackPenalties()
    penalties.record("p-n", offer("declined", fields=["5G.RAN"], trl=4), DeclineReason.NOT_OUR_FIELD)
    o, n = offer("o", fields=["5G.RAN"], trl=6), need("n", fields=["5G.RAN"], owner="p-n")
    plain, lowered = render(score_pair(o, n, now=NOW)), render(score_pair(o, n, now=NOW, feedback=penalties))
    assert lowered.score == pytest.approx(plain.score * 0.6, abs=1e-5)
    assert "降权 40%" in lowered.explanation.zh[-1]
    other = need("n2", fields=["BIO.DX"], owner="p-n", en="x")
    assert penalties.factor(offer("o2", fields=["BIO.DX"], en="x"), other) == 1.0


def test_too_early_applies_only_to_candidates_no_more_mature():
    penalties = FeedbackPenalties()
    penalties.record("p-n", offer("declined", trl=4), DeclineReason.TOO_EARLY)
    n = need("n", owner="p-n")
    assert penalties.factor(offer("young", trl=3), n) == pytest.approx(0.7)
    assert penalties.factor(offer("mature", trl=7), n) == 1.0


def test_a_rendered_match_has_the_stable_pair_id():
    o, n = offer("o"), need("n")
    data = render(score_pair(o, n, now=NOW))
    assert data.match_id == match_id("o", "n") and data.offer.item_id == "o" and data.need.owner_id == "p-n"


def test_scoring_is_deterministic():
    o, n = offer("o", zh="毫米波芯片", trl=5), need("n", zh="芯片", trl=6)
    assert score_pair(o, n, now=NOW) == score_pair(o, n, now=NOW)
