from __future__ import annotations

import pytest
from pydantic import ValidationError
from standardwebhooks.webhooks import Webhook

from services.notification.domain.notices import Category, Channel, Notice, NotificationType
from services.notification.domain.preferences import (
    Contact,
    DeliveryMode,
    Preferences,
    PreferencesUpdate,
    effective,
    needs_new_secret,
    new_webhook_secret,
    problems,
)
from shared.events.common import Language


def _match(score: float) -> Notice:
    return Notice("p", NotificationType.MATCH_CREATED, {}, score=score)


def test_defaults_come_from_the_profile():
    contact = Contact(email="a@b.cn", language=Language.EN, webhook_url="https://hooks.example.com/x")
    prefs = effective(None, contact, webhook_disabled=False)
    assert prefs.language is Language.EN and prefs.email == "a@b.cn" and prefs.stream
    assert prefs.push_channels() == [Channel.EMAIL]  # webhooks only once switched on (they need a secret)
    on = Preferences.model_validate({"channels": {"webhook": {"enabled": True}}})
    assert effective(on, contact, webhook_disabled=False).webhook_url == "https://hooks.example.com/x"
    assert effective(on, contact, webhook_disabled=True).webhook_url is None


def test_minimum_score_and_categories_filter():
    prefs = effective(Preferences(min_match_score=0.5, categories=[Category.MATCH]), Contact(), webhook_disabled=False)
    assert prefs.wants(_match(0.5)) and not prefs.wants(_match(0.49))
    assert not prefs.wants(Notice("p", NotificationType.AGENDA_PUBLISHED, {}))
    assert prefs.wants(Notice("p", NotificationType.MATCH_RETRACTED, {}))


@pytest.mark.parametrize(("body", "location"), [
    ({"min_match_score": 1.5}, ("min_match_score",)),
    ({"language": "fr"}, ("language",)),
    ({"categories": ["weather"]}, ("categories", 0)),
    ({"delivery": "weekly"}, ("delivery",)),
    ({"channels": {"webhook": {"enabled": True, "url": "ftp://x"}}}, ("channels", "webhook", "url")),
    ({"channels": {"email": {"address": "not-an-address"}}}, ("channels", "email", "address")),
    ({"channels": {"sms": True}}, ("channels", "sms")),
    ({"colour": "red"}, ("colour",)),
])
def test_invalid_preferences_name_the_field(body, location):
    with pytest.raises(ValidationError) as caught:
        PreferencesUpdate.model_validate(body)
    assert caught.value.errors()[0]["loc"] == location


def test_switching_a_channel_on_needs_somewhere_to_send():
    update = PreferencesUpdate.model_validate({"channels": {"webhook": {"enabled": True},
                                                            "email": {"enabled": True}}})
    locations = [e["loc"] for e in problems(update, Contact())]
    assert locations == [["body", "channels", "webhook", "url"], ["body", "channels", "email", "address"]]
    assert problems(update, Contact(email="a@b.cn", webhook_url="https://x.example.com")) == []
    assert problems(PreferencesUpdate(), Contact()) == []  # e-mail on by default, silently without an address


def test_secret_is_a_standard_webhooks_secret_issued_when_needed():
    secret = new_webhook_secret()
    assert secret.startswith("whsec_") and Webhook(secret)  # the library accepts it
    on = PreferencesUpdate.model_validate({"channels": {"webhook": {"enabled": True, "url": "https://x.example.com"}}})
    assert needs_new_secret(on, None) and not needs_new_secret(on, secret)
    assert needs_new_secret(PreferencesUpdate(rotate_webhook_secret=True), secret)
    assert on.preferences().delivery is DeliveryMode.IMMEDIATE
