"""Value types that several event schemas share."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, model_validator

from shared.events.envelope import EventData

# The largest integer any field holds: what every JSON client reads exactly (JavaScript's
# Number.MAX_SAFE_INTEGER, 2**53 - 1), well within the store's 64-bit integers.
MAX_INT = 2**53 - 1


class LocalizedText(EventData):
    """Text in Chinese and/or English; at least one of the two."""

    zh: str | None = Field(None, max_length=5000)
    en: str | None = Field(None, max_length=5000)

    @model_validator(mode="after")
    def _one_language_at_least(self) -> LocalizedText:
        if not (self.zh or self.en):
            raise ValueError("give the text in zh, en or both")
        return self

    def pick(self, lang: str) -> str:
        """The text in the wanted language, falling back to the other one."""
        first, second = (self.zh, self.en) if lang.startswith("zh") else (self.en, self.zh)
        return first or second or ""


class Language(StrEnum):
    ZH_CN = "zh-CN"
    EN = "en"


class MoneyRange(EventData):
    """A price, budget or ticket range; ``None`` on a side means open-ended."""

    min: float | None = Field(None, ge=0)
    max: float | None = Field(None, ge=0)
    currency: str = Field("CNY", pattern=r"^[A-Z]{3}$")

    @model_validator(mode="after")
    def _ordered(self) -> MoneyRange:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min must not exceed max")
        return self
