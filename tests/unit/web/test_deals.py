"""The deal pages' view logic: the stage a party confirms next and whether it records the contract
or waits for the other party, counterparts by name (else by party type), the funnel's steps."""

from __future__ import annotations

from services.web.domain import deals, names

DEAL = {"id": "d_1", "stage": "term_sheet", "pending_stage": None, "confirmed_by": [],
        "parties": [{"participant_id": "p_uni", "party_type": "university", "role": "offer"},
                    {"participant_id": "p_ent", "party_type": "enterprise", "role": "need"}],
        "entered_at": {"contacted": "2026-12-01T09:00:00Z", "met": "2026-12-02T09:00:00Z",
                       "due_diligence": "2026-12-03T09:00:00Z", "term_sheet": "2026-12-04T09:00:00Z"},
        "contract": None, "close_reason": None, "close_comment": None}
CONTRACT = {"contract_type": "licence", "amount": "1200000.50", "currency": "CNY", "transfer_mode": "licence",
            "field": "5G", "region": "CN-SC.CD", "signed_on": "2026-12-05"}


def test_the_first_to_confirm_signing_records_the_contract_and_then_waits():
    first = deals.deal_view(DEAL, "p_ent", "zh-CN")
    assert (first["next"], first["next_name"], first["records_contract"], first["confirmed_by_you"]) == (
        "contract_signed", "已签约", True, False)
    assert [s["on"] for s in first["stages"]] == ["2026-12-01", "2026-12-02", "2026-12-03", "2026-12-04"]
    pending = {**DEAL, "pending_stage": "contract_signed", "confirmed_by": ["p_ent"], "contract": CONTRACT}
    assert deals.deal_view(pending, "p_ent", "en")["confirmed_by_you"] is True
    other = deals.deal_view(pending, "p_uni", "en")
    assert (other["records_contract"], other["confirmed_by_you"], other["pending"]) == (False, False, True)
    assert other["contract"] == {"type": "licence", "amount": "CNY 1,200,000.50", "mode": "licence",
                                 "field": names.field_name("5G", "en"), "region": names.region_name("CN-SC.CD", "en"),
                                 "signed_on": "2026-12-05"}


def test_an_ended_deal_offers_nothing_to_confirm():
    closed = {**DEAL, "stage": "closed", "close_reason": "price_gap",
              "entered_at": {**DEAL["entered_at"], "closed": "2026-12-06T09:00:00Z"}}
    view = deals.deal_view(closed, "p_ent", "en")
    assert (view["ended"], view["next"], view["close_reason"], view["stages"][-1]["name"]) == (
        True, None, "price gap", "closed without a deal")


def test_a_counterpart_is_named_by_organisation_and_person_else_by_party_type():
    assert deals.counterpart_name({"party_type": "university", "organisation": {"zh": "四川大学"},
                                   "display_name": {"zh": "李教授"}}, "zh-CN") == "四川大学 · 李教授"
    assert deals.counterpart_name({"party_type": "university"}, "en") == names.party_name("university", "en")


def test_funnel_steps_show_counts_conversions_and_days():
    funnel = {"steps": [{"label_zh": "匹配", "label_en": "matches made", "count": 10, "conversion": None,
                         "mean_days": None},
                        {"label_zh": "签约", "label_en": "contracts signed", "count": 2, "conversion": 0.2,
                         "mean_days": 12.25}], "turnover": {"CNY": "300.00"}, "closed": {"no_funding": 3}}
    assert deals.funnel_rows(funnel, "en") == [
        {"label": "matches made", "count": 10, "conversion": None, "days": None},
        {"label": "contracts signed", "count": 2, "conversion": "20%", "days": "12.2"}]
    assert deals.funnel_money(funnel, "zh-CN") == {"turnover": ["CNY 300.00"], "closed": [("资金未落实", 3)]}


def test_a_funnel_is_chosen_by_field_region_strategy_or_party_pair_one_at_a_time():
    options = deals.funnel_options("en")
    groups = [group for group, _ in deals.grouped(options)]
    assert groups == ["Field", "Region", "Regional strategy", "Party pairing (offer → need)"]
    values = {o.value: o.label for o in options}
    assert values["strategy:chengyu"] == "Chengdu-Chongqing" and values["region:CN-SC"] == "Sichuan"
    assert values["pair:university>enterprise"] == "University → Tech enterprise"
    assert values["field:5G"] == "5G communications"
    assert deals.funnel_filter("pair:university>enterprise") == {"pair": "university>enterprise"}
    assert deals.funnel_filter("strategy:greater_bay") == {"strategy": "greater_bay"}
    assert deals.funnel_filter("session:s_1") == deals.funnel_filter("field:") == deals.funnel_filter(None) == {}
