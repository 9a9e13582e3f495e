"""Every notification type renders in both languages from a real event's context."""

from __future__ import annotations

import re

import pytest

from services.notification.domain import fanout
from services.notification.domain.notices import NotificationType
from services.notification.domain.render import TEMPLATES, render, template_path
from shared.events.common import Language
from tests.unit.notification import samples

HAN = re.compile(r"[\u4e00-\u9fff]")
NAMES = {"p_ent": {"zh": "张工", "en": "Eng. Zhang"}}


def _contexts(kind: NotificationType) -> list[dict]:
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
    assert "（p_uni）" in zh  # a member whose organisation is not carried falls back to its id


def test_agenda_without_known_session_falls_back_to_its_id():
    [first, *_] = fanout.notices(samples.agenda(session_id="s_unknown"))
    assert "s_unknown" in render(first.type, Language.EN, first.context).subject
