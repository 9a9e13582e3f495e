"""The web app's pure view logic: translations, names, local times, matches, form errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from services.web.domain import i18n, names, times, views
from shared.events.listing import ItemStatus
from shared.events.matching import ConsortiumRole, DeclineReason
from shared.events.sessions import MeetingPreference, RegistrationStatus, Role
from shared.party_types import Kind

TEMPLATES = Path(__file__).resolve().parents[3] / "services" / "web" / "templates"


def test_every_key_the_templates_use_has_both_languages():
    used = set()
    for template in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_]+\.[a-z_]+)["']""", template.read_text()))
    assert used, "no keys found"
    dynamic = {k for k in used if k.endswith(("_", "."))}  # a prefix the template completes
    assert used - dynamic - set(i18n.MESSAGES) == set()
    completed = {f"kind.{k.value}" for k in Kind} | {f"status.{s.value}" for s in ItemStatus} | \
        {f"reason.{r.value}" for r in DeclineReason} | {"item.new_offer_title", "item.new_need_title"} | \
        {f"role.{r.value}" for r in Role} | {f"registration.{r.value}" for r in RegistrationStatus} | \
        {f"preference.{p.value}" for p in MeetingPreference} | {f"consortium_role.{r.value}" for r in ConsortiumRole} | \
        {f"category.{c}" for c in views.CATEGORIES} | {"delivery.immediate", "delivery.digest"}
    assert completed - set(i18n.MESSAGES) == set()
    for key, (zh, en) in i18n.MESSAGES.items():
        assert i18n.has_chinese(zh) or zh == en or zh.isascii(), key
        assert en and not i18n.has_chinese(en) or key == "nav.language", key


def test_languages_from_cookies_and_browsers():
    assert i18n.normalise("zh-Hans") == "zh-CN" and i18n.normalise("EN-gb") == "en" and i18n.normalise("fr") is None
    assert i18n.from_accept_language("fr-FR,en;q=0.8,zh;q=0.5") == "en"
    assert i18n.from_accept_language(None) == "zh-CN"


def test_service_messages_are_split_by_language():
    assert i18n.bilingual("a decline needs a reason / 拒绝匹配需要说明原因", "en") == "a decline needs a reason"
    assert i18n.bilingual("Value error, give the text in zh, en or both", "en") == "give the text in zh, en or both"
    assert i18n.bilingual("unknown region code XX (未知地区代码)", "zh-CN") == "未知地区代码"
    assert i18n.error_message({"type": "missing", "msg": "Field required"}, "zh-CN") == "必填。"
    assert i18n.error_message({"type": "value_error", "msg": "Value error, only in English"}, "zh-CN") == "内容无效。"


def test_names_of_shared_lists():
    assert names.party_name("investor", "zh-CN") == "投资机构"
    assert names.field_name("5G.RAN", "en") == "Radio access network"
    assert names.region_name("CN-SC.CD", "zh-CN") == "四川 · 成都"
    assert names.region_name("CN-BJ.BJ", "zh-CN") == "北京市"
    assert names.zone_name("CDHT", "en") == "Chengdu High-tech Zone"
    assert names.text({"zh": "电子科大", "en": None}, "en") == "电子科大"
    assert [o.value for o in names.kind_options("investor", "offer", "en")] == ["capital"]
    cities = [o for o in names.region_options("en") if o.value == "CN-SC.CD"]
    assert cities[0].group == "Sichuan" and cities[0].label == "Chengdu"


def test_times_are_shown_in_the_sessions_zone():
    assert times.date_time("2026-12-12T03:20:00Z", "CN-BJ.BJ", "zh-CN") == "2026年12月12日（周六）11:20"
    assert times.date_time("2026-12-12T03:20:00+00:00", "CN-SC.CD", "en") == "Sat 12 Dec 2026, 11:20"
    assert times.clock("2026-12-12T03:20:00Z", "CN-HK.HK") == "11:20"
    assert times.zone_of("CN-HK.HK").key == "Asia/Hong_Kong"


def _match(match_id: str, score: float, offer_owner: str, need_owner: str, status: str = "active") -> dict:
    return {"match_id": match_id, "status": status, "score": score, "kind": "technology",
            "offer": {"item_id": "l_1", "owner_id": offer_owner, "party_type": "university",
                      "title": {"zh": "毫米波天线", "en": "mmWave antenna"}},
            "need": {"item_id": "d_1", "owner_id": need_owner, "party_type": "enterprise",
                     "title": {"zh": "基站天线需求", "en": "Base-station antenna need"}},
            "features": [{"name": "field", "value": 1.0, "weight": 0.3, "contribution": 0.3}],
            "explanation": {"zh": ["领域：5G通信"], "en": ["Field: 5G communications"]}}


def test_matches_are_ranked_and_name_the_counterpart():
    matches = [_match("m_b", 0.4, "p_uni", "p_me"), _match("m_a", 0.9, "p_other", "p_me"),
               _match("m_c", 0.95, "p_uni", "p_me", status="retracted")]
    rows = views.match_rows(matches, "p_me", {"p_uni": "电子科技大学"}, "en")
    assert [(r.match_id, r.rank, r.score) for r in rows] == [("m_a", 1, 90), ("m_b", 2, 40), ("m_c", 3, 95)]
    assert rows[1].counterpart_name == "电子科技大学" and rows[0].counterpart_name == "(unknown participant)"
    assert rows[0].mine == "Base-station antenna need" and rows[0].theirs == "mmWave antenna"
    assert rows[0].explanation == ["Field: 5G communications"]
    assert rows[0].parts[0].text == "Field: 100% (weight 30%, adds 30.0 points)"


@pytest.mark.parametrize(("contribution", "language", "text", "share"), [
    (0.015, "en", "Deal outcomes: +1.5 points (how deals of this field and party pairing end, at most ±2.5)", 0.015),
    (-0.025, "zh-CN", "成交反馈：-2.5 分（同领域同类型合作的成交情况，至多 ±2.5 分）", 0.0),
])
def test_a_deal_outcome_prior_is_a_score_part_of_its_own(contribution, language, text, share):
    """The bound shown is the part's weight: the most a prior moves a score (matching's ``priors.bound``)."""
    (part,) = views.score_parts([{"name": "conversion", "value": 0.5 + contribution / 0.05, "weight": 0.025,
                                  "contribution": contribution}], language)
    assert (part.text, part.share) == (text, share)


def test_422_details_are_put_beside_their_fields():
    detail = [{"loc": ["body", "title", "zh"], "msg": "String should have at most 300 characters",
               "type": "string_too_long"},
              {"loc": ["body", "fields", 0], "msg": "Value error, unknown code XX / 未知领域代码", "type": "value_error"},
              {"loc": ["body"], "msg": "Value error, give the text in zh, en or both", "type": "value_error"}]
    assert views.field_errors(detail, "zh-CN") == {"title_zh": "内容太长。", "fields": "未知领域代码", "": "内容无效。"}
    assert views.field_errors("bad", "en") == {"": "bad"}


def test_item_forms_become_api_bodies_and_back():
    form = {"kind": "technology", "title_zh": " 毫米波 ", "title_en": "", "fields": ["5G.RAN"], "keywords": "天线，5G, ",
            "trl": "6", "amount_min": "50", "amount_max": "", "region": "CN-SC.CD"}
    parsed = views.item_form(form, "en")
    assert parsed.errors == {}
    assert parsed.body == {"kind": "technology", "title": {"zh": "毫米波"}, "fields": ["5G.RAN"],
                           "keywords": ["天线", "5G"], "description": None, "trl": 6, "region": "CN-SC.CD",
                           "amount": {"min": 500_000, "max": None}}
    assert views.patch_of(parsed.body).keys() == parsed.body.keys() - {"kind"}
    assert "title" not in views.item_form({**form, "title_zh": " "}, "en").body
    assert views.patch_of(views.item_form({**form, "title_zh": " "}, "en").body)["title"] is None
    assert views.item_form({**form, "trl": "six"}, "zh-CN").errors == {"trl": "请输入数字。"}
    back = views.item_values({**parsed.body, "title": {"zh": "毫米波"}, "amount": {"min": 500_000.0, "max": None}})
    assert back["amount_min"] == 50 and back["keywords"] == "天线, 5G" and back["title_en"] is None


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_every_option_list_has_labels(language):
    for options in (names.party_options(language), names.field_options(language), names.region_options(language),
                    names.city_options(language), names.zone_options(language)):
        assert options and all(o.label and o.value for o in options)


def test_teams_name_members_by_role_and_the_roles_missing():
    def team(cid: str, score: float) -> dict:
        return {"consortium_id": cid, "technology_match_id": "m_1", "score": score, "missing_roles": ["capital", "policy"],
                "members": [{"role": "technology_provider", "participant_id": "p_uni", "party_type": "university",
                             "item_id": "l_1"},
                            {"role": "technology_seeker", "participant_id": "p_me", "party_type": "enterprise",
                             "item_id": "d_1"}]}

    consortia = [{"status": "active", "consortium": team("c_low", 0.5)},
                 {"status": "retracted", "consortium": team("c_gone", 0.9)},
                 {"status": "active", "consortium": team("c_high", 0.8)}]
    rows = views.team_rows(consortia, "p_me", {"p_uni": "UESTC"}, "en")
    assert [r.score for r in rows] == [80, 50]
    assert [(m.role, m.name, m.party, m.is_viewer) for m in rows[0].members] == [
        ("Technology provider", "UESTC", "University", False),
        ("Technology seeker", "(unknown participant)", "Tech enterprise", True)]
    assert rows[0].missing == ["Capital", "Policy"]


def test_preferences_round_trip_through_their_form():
    view = {"language": "en", "webhook": {"secret_set": False},
            "preferences": {"channels": {"stream": True, "email": {"enabled": True, "address": None},
                                         "webhook": {"enabled": False, "url": None}},
                            "categories": ["match", "agenda"], "delivery": "immediate", "min_match_score": 0.25}}
    values = views.preference_values(view)
    assert values["min_match_score"] == 25 and values["email_address"] == "" and values["categories"] == ["match", "agenda"]
    form = {"stream": "on", "email_address": " a@b.cn ", "categories": ["match", "nonsense"], "delivery": "digest",
            "min_match_score": "40", "language": "zh-CN"}
    parsed = views.preferences_form(form, "en")
    assert parsed.errors == {}
    assert views.preferences_body(parsed.values) == {
        "channels": {"stream": True, "email": {"enabled": False, "address": "a@b.cn"},
                     "webhook": {"enabled": False, "url": None}},
        "categories": ["match"], "delivery": "digest", "min_match_score": 0.4, "language": "zh-CN",
        "rotate_webhook_secret": False}
    assert views.preferences_form({**form, "min_match_score": "high"}, "en").errors == {
        "min_match_score": "Enter a number."}
    assert views.preference_errors({"channels_email_address": "x"}) == {"email_address": "x"}


def test_inbox_entries_link_to_what_they_are_about():
    def entry(data: dict) -> views.InboxEntry:
        return views.inbox_entry({"id": "n_1", "subject": "New match", "read": False,
                                  "created_at": "2026-12-12T03:20:00Z", "data": data})

    assert entry({"match_id": "m_1", "own": {}}).link == "/matches/m_1"
    assert entry({"session_id": "s_1"}).link == "/sessions/s_1"
    assert entry({"consortium_id": "c_1"}).link == "/teams"
    assert entry({"alert_id": "a_1"}).link is None


def test_the_counterparts_of_matches_and_the_members_of_teams_are_the_names_to_ask_for():
    matches = [_match("m_b", 0.4, "p_uni", "p_me"), _match("m_a", 0.9, "p_me", "p_firm")]
    assert views.counterpart_ids(matches, "p_me") == {"p_uni", "p_firm"}
    assert [r.counterpart_id for r in views.match_rows(matches, "p_me", {}, "en")] == ["p_firm", "p_uni"]
    consortia = [{"status": "active", "consortium": {"members": [{"participant_id": "p_a"}, {"participant_id": "p_b"}]}},
                 {"status": "active", "consortium": {"members": [{"participant_id": "p_b"}]}}]
    assert views.team_member_ids(consortia) == {"p_a", "p_b"}
    assert names.participant_name({"organisation": {"zh": "电子科大", "en": "UESTC"},
                                   "display_name": {"en": "Tech Transfer"}}, "en") == "UESTC · Tech Transfer"
    assert names.participant_name({"organisation": {"zh": "电子科大"}, "display_name": {"zh": "电子科大"}}, "en") == "电子科大"


def test_an_answer_to_a_match_carries_a_reason_only_when_it_declines():
    assert views.feedback_body({"decision": "accept", "reason": "too_early", "comment": "x"}) == {"decision": "accept"}
    assert views.feedback_body({"decision": "decline", "reason": "too_early", "comment": "  "}) == {
        "decision": "decline", "reason": "too_early"}
    assert views.feedback_body({"decision": "decline", "reason": "", "comment": " 太早 "}) == {
        "decision": "decline", "reason": None, "comment": "太早"}


def test_the_signup_form_becomes_the_api_body_and_a_name_needs_one_language():
    form = {"party_type": "university", "organisation_zh": " 电子科大 ", "organisation_en": "", "display_name_zh": "",
            "display_name_en": "", "region": "CN-SC.CD", "fields": ["5G"], "email": " "}
    parsed = views.signup_form(form, "en")
    assert parsed.body == {"party_type": "university", "organisation": {"zh": "电子科大"}, "display_name": None,
                           "region": "CN-SC.CD", "fields": ["5G"], "language": "en", "email": None}
    assert parsed.errors == {"display_name_zh": "Give it in Chinese, English or both."}
    assert views.signup_errors({"organisation": "a", "organisation_en": "b", "region": "c"}) == {
        "organisation_zh": "a", "organisation_en": "b", "region": "c"}
    assert views.item_errors({"title": "a", "title_zh": "b"}) == {"title_zh": "b"}


def test_a_list_paged_with_forward_cursors_links_back_through_the_cursors_it_came_by():
    first = views.paging("/matches", "", "", "c2", 20, 57, 20)
    assert first == views.Paging(first=1, last=20, total=57, previous=None, next="/matches?cursor=c2")
    second = views.paging("/matches", "c2", "", "c3", 20, 57, 20)
    assert second == views.Paging(first=21, last=40, total=57, previous="/matches",
                                  next="/matches?cursor=c3&back=c2")
    third = views.paging("/matches", "c3", "c2", None, 17, 57, 20)
    assert third == views.Paging(first=41, last=57, total=57, previous="/matches?cursor=c2", next=None)
    fourth = views.paging("/matches", "c4", "c2.c3", "c5", 20, 99, 20)
    assert (fourth.first, fourth.previous, fourth.next) == (61, "/matches?cursor=c3&back=c2",
                                                           "/matches?cursor=c5&back=c2.c3.c4")
    assert views.paging("/matches", "", "", None, 0, 0, 20) == views.Paging(0, 0, 0, None, None)


def test_a_later_page_of_matches_ranks_on_from_the_pages_before():
    matches = [_match("m_b", 0.4, "p_uni", "p_me"), _match("m_a", 0.9, "p_other", "p_me")]
    assert [(r.match_id, r.rank) for r in views.match_rows(matches, "p_me", {}, "en", first_rank=21)] == [
        ("m_a", 21), ("m_b", 22)]
