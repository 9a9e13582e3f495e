"""The web app's pure view logic: translations, names, local times, matches, form errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from services.web.domain import i18n, names, times, views
from shared.events.listing import ItemStatus
from shared.events.matching import DeclineReason
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
        {f"preference.{p.value}" for p in MeetingPreference}
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
