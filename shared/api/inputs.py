"""Field types of request bodies that several services share, each refusing what it cannot hold
with a 422 naming the field: titles and names on one line, text without invisible characters,
and ISO 4217 currency codes. (Integers are bounded where they are declared, by
``shared.events.common.MAX_INT``.)"""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any

from iso4217 import Currency
from pydantic import AfterValidator, Field, model_validator

from shared.events.common import LocalizedText

# Unicode general categories refused: controls (NUL, ESC …), format characters (bidi overrides
# such as U+202E and isolates, zero-width spaces and joiners, U+FEFF), lone surrogates (the store
# cannot encode them) and line and paragraph separators. They are invisible or reorder what a
# reader sees (a spoofed title or name), so they are refused rather than stored and echoed.
REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
LINE_BREAKS = frozenset("\t\n\r")
# ISO 4217 codes that name no money a price can be in: testing, and "no currency".
NOT_MONEY = frozenset({"XTS", "XXX"})


def _check(text: str, allowed: frozenset[str]) -> str:
    for char in text:
        if unicodedata.category(char) in REFUSED_CATEGORIES and char not in allowed:
            name = unicodedata.name(char, "control character")
            raise ValueError(f"U+{ord(char):04X} ({name}) is not allowed: no control, bidi-override or zero-width "
                             f"characters (不允许控制字符、双向覆盖字符或零宽字符)")
    return text


def one_line(text: str) -> str:
    """A name, title or other one-line text: no invisible characters, no line breaks."""
    return _check(text, frozenset())


def plain_text(text: str) -> str:
    """Free text such as a description: no invisible characters; tabs and line breaks allowed."""
    return _check(text, LINE_BREAKS)


def currency_code(code: str) -> str:
    try:
        Currency(code)
    except ValueError:
        raise ValueError(f"{code!r} is not an ISO 4217 currency code (不是 ISO 4217 货币代码), "
                         "e.g. CNY, USD, EUR") from None
    if code in NOT_MONEY:
        raise ValueError(f"{code} names no currency a price can be in (不是可用于价格的货币)")
    return code


OneLine = Annotated[str, AfterValidator(one_line)]
CurrencyCode = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217, e.g. CNY"),
                         AfterValidator(currency_code)]


class _Checked(LocalizedText):
    @model_validator(mode="before")
    @classmethod
    def _check_any_localized_text(cls, value: Any) -> Any:
        """A ``LocalizedText`` built in code is checked like one sent in JSON."""
        return value.model_dump() if isinstance(value, LocalizedText) else value


class Title(_Checked):
    """A title or a name: one line of at most 200 characters in each language."""

    zh: OneLine | None = Field(None, max_length=200)
    en: OneLine | None = Field(None, max_length=200)


class Text(_Checked):
    """Free text such as a description, in Chinese and/or English, line breaks allowed."""

    zh: Annotated[str, AfterValidator(plain_text)] | None = Field(None, max_length=5000)
    en: Annotated[str, AfterValidator(plain_text)] | None = Field(None, max_length=5000)
