"""Every notification type renders in both languages from a real event's context."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from services.notification.domain import fanout
from services.notification.domain.delivery import disabled_notice_context
from services.notification.domain.notices import NotificationType
from services.notification.domain.render import TEMPLATES, render, template_path
from shared.events.common import Language
from tests.unit.notification import samples

T0 = datetime(2026, 6, 1, 9, tzinfo=UTC)
HAN = re.compile(r"[\u4e00-\u9fff]")
NAMES = {"p_ent": {"zh": "张工", "en": "Eng. Zhang"}}


def _contexts(kind: NotificationType) -> list[dict]:
    if kind is NotificationType.WEBHOOK_DISABLED:
        return [disabled_notice_context("https://hooks.example.com/in", attempts=20, first_attempt_at=T0,
                                        last_attempt_at=T0 + timedelta(hours=27), last_error="http_5xx")]
    if kind is NotificationType.DIGEST:
        return [{"window_end": "2026-06-01T10:00:00+00:00",
                 "items": [{"id": "msg_1", "type": "match.created", "subject": "New match", "details": {}}]}]
    event = samples.NOTIFYING_EVENTS[f"{kind.value}.v1"]
    return [n.context for n in fanout.notices(event, session=samples.session().data, names=NAMES)]


def test_every_type_has_a_template_in_every_language():
    for kind in NotificationType:
        for language in Language:
            assert (TEMPLATES / template_path(kind, language)).is_file(), template_path(kind, language)


@pytest.mark.parametrize("kind", list(NotificationType))
def test_renders_in_chinese_and_english(kind: NotificationType):
    for context in _contexts(kind):
        zh = render(kind, Language.ZH_CN, context)
        en = render(kind, Language.EN, context)
        assert zh.subject and zh.body.strip() and en.subject and en.body.strip()
        assert HAN.search(zh.subject), zh.subject
        assert not HAN.search(en.subject), en.subject
        assert "\n" not in zh.subject and "\n" not in en.subject


def test_match_text_carries_the_counterpart_score_and_explanation():
    [for_offer_owner, _] = fanout.notices(samples.match_created(score=0.82))
    zh = render(for_offer_owner.type, Language.ZH_CN, for_offer_owner.context)
    en = render(for_offer_owner.type, Language.EN, for_offer_owner.context)
    assert "5G 基站射频前端" in zh.subject and "82%" in zh.subject and "领域一致" in zh.body
    assert "5G base-station RF front end" in en.subject and "Same field" in en.body


def test_consortium_members_are_named_with_why_they_fit():
    [first, *_] = fanout.notices(samples.consortium())
    zh = render(first.type, Language.ZH_CN, first.context).body
    en = render(first.type, Language.EN, first.context).body
    assert "：蓉创投资（投资机构）——覆盖射频与天线；面向成都" in zh
    assert ": Rongchuang Capital (Investor): covers RF front-end and antennas; serves Chengdu" in en
    assert "\n- 技术提供方：p_uni（高校）\n" in zh  # a member whose name is not known falls back to its id


def test_agenda_without_known_session_falls_back_to_its_id():
    [first, *_] = fanout.notices(samples.agenda(session_id="s_unknown"))
    assert "s_unknown" in render(first.type, Language.EN, first.context).subject


def test_match_and_team_notices_name_the_counterpart_and_link_to_the_app():
    names = {"p_uni": {"zh": "电子科大技术转移中心", "en": "UESTC Technology Transfer Office"}}
    [_, for_need_owner] = fanout.notices(samples.match_created(), names=names)
    match_id = for_need_owner.context["match_id"]
    zh = render(for_need_owner.type, Language.ZH_CN, for_need_owner.context, "https://app.example")
    en = render(for_need_owner.type, Language.EN, for_need_owner.context, "https://app.example")
    assert "电子科大技术转移中心（高校）" in zh.body and f"https://app.example/matches/{match_id}" in zh.body
    assert "of UESTC Technology Transfer Office (university)" in en.body
    assert f"Accept or decline it: https://app.example/matches/{match_id}" in en.body and "Match id" not in en.body
    assert f"Match id: {match_id}" in render(for_need_owner.type, Language.EN, for_need_owner.context).body
    team = fanout.notices(samples.consortium(), names=names)[0]
    body = render(team.type, Language.EN, team.context, "https://app.example").body
    assert "UESTC Technology Transfer Office (University)" in body and "https://app.example/teams" in body
    assert fanout.named_participants(samples.match_created()) == {"p_uni", "p_ent"}
