"""A participant's notification preferences, and which channels a notice takes under them."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

from services.notification.domain.notices import Category, Channel, Notice
from shared.events.common import Language

WEBHOOK_SECRET_PREFIX = "whsec_"
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
PARTICIPANT_CATEGORIES = (Category.MATCH, Category.CONSORTIUM, Category.AGENDA, Category.REGISTRATION)


class DeliveryMode(StrEnum):
    IMMEDIATE = "immediate"
    DIGEST = "digest"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WebhookPreference(_Strict):
    enabled: bool = False
    url: AnyHttpUrl | None = Field(None, description="Defaults to the webhook URL of the participant's profile")


class EmailPreference(_Strict):
    enabled: bool = Field(True, description="On by default when the profile has an e-mail address")
    address: str | None = Field(None, pattern=EMAIL_PATTERN, max_length=254,
                                description="Defaults to the e-mail address of the participant's profile")


class ChannelPreferences(_Strict):
    stream: bool = True
    webhook: WebhookPreference = WebhookPreference()
    email: EmailPreference = EmailPreference()


class Preferences(_Strict):
    """What a participant sets with ``PUT /me/preferences``. The inbox is always on."""

    channels: ChannelPreferences = ChannelPreferences()
    language: Language | None = Field(None, description="Defaults to the language of the participant's profile")
    min_match_score: float = Field(0.0, ge=0, le=1, description="Matches and consortia scoring below are not notified")
    categories: list[Category] = Field(default_factory=lambda: list(PARTICIPANT_CATEGORIES), max_length=4)
    delivery: DeliveryMode = Field(DeliveryMode.IMMEDIATE,
                                   description="digest: webhook and e-mail get one message per window")


class PreferencesUpdate(Preferences):
    """The body of ``PUT /me/preferences``."""

    rotate_webhook_secret: bool = Field(False, description="Issue a new whsec_ secret (shown once in the answer)")

    def preferences(self) -> Preferences:
        return Preferences(**self.model_dump(exclude={"rotate_webhook_secret"}))


@dataclass(frozen=True)
class Contact:
    """What the participant's profile (from the participants topic) says about reaching them."""

    email: str | None = None
    language: Language = Language.ZH_CN
    webhook_url: str | None = None


@dataclass(frozen=True)
class Effective:
    """Preferences with the profile's defaults filled in: what fan-out acts on."""

    language: Language
    stream: bool
    webhook_url: str | None  # None: no webhooks (off, no URL, or disabled after a 410)
    email: str | None  # None: no e-mail
    min_match_score: float
    categories: frozenset[Category]
    delivery: DeliveryMode

    def wants(self, notice: Notice) -> bool:
        category = notice.type.category
        if category is not None and category is not Category.ALERT and category not in self.categories:
            return False
        return notice.score is None or notice.score >= self.min_match_score

    def push_channels(self) -> list[Channel]:
        """Channels beyond the inbox (and the stream, which shows the inbox live)."""
        return [channel for channel, target in ((Channel.WEBHOOK, self.webhook_url), (Channel.EMAIL, self.email))
                if target]


def effective(preferences: Preferences | None, contact: Contact, *, webhook_disabled: bool) -> Effective:
    prefs = preferences or Preferences()
    webhook = prefs.channels.webhook
    webhook_url = (str(webhook.url) if webhook.url else contact.webhook_url) if webhook.enabled else None
    email = (prefs.channels.email.address or contact.email) if prefs.channels.email.enabled else None
    return Effective(
        language=prefs.language or contact.language,
        stream=prefs.channels.stream,
        webhook_url=None if webhook_disabled else webhook_url,
        email=email,
        min_match_score=prefs.min_match_score,
        categories=frozenset(prefs.categories),
        delivery=prefs.delivery,
    )


def needs_new_secret(update: PreferencesUpdate, current_secret: str | None) -> bool:
    return update.rotate_webhook_secret or (update.channels.webhook.enabled and current_secret is None)


def problems(preferences: Preferences, contact: Contact) -> list[dict[str, Any]]:
    """422-style errors of preferences that validate alone but not with the profile."""
    errors = []
    webhook = preferences.channels.webhook
    if webhook.enabled and not (webhook.url or contact.webhook_url):
        errors.append({"loc": ["body", "channels", "webhook", "url"], "type": "missing",
                       "msg": "a webhook needs a URL, and the profile has none / 开启 webhook 需要提供 URL"})
    email = preferences.channels.email
    if "enabled" in email.model_fields_set and email.enabled and email.address is None and contact.email is None:
        errors.append({"loc": ["body", "channels", "email", "address"], "type": "missing",
                       "msg": "e-mail needs an address, and the profile has none / 开启邮件通知需要提供邮箱地址"})
    return errors


def new_webhook_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return WEBHOOK_SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()
