"""Field types of request bodies with the checks that name the bad field in a 422: taxonomy
codes, region codes, text lengths and characters (``shared.api.inputs``), money ranges in ISO
4217 currencies and expiry dates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from shared import regions, taxonomy
from shared.api.inputs import CurrencyCode, OneLine, Text, Title  # noqa: F401  Text, Title: the listing's field types
from shared.events.common import MoneyRange
from shared.moments import to_utc

MAX_EXPIRY = timedelta(days=5 * 365)


class RequestModel(BaseModel):
    """Base of every request body: unknown JSON fields are an error."""

    model_config = ConfigDict(extra="forbid")


def _known_fields(codes: list[str]) -> list[str]:
    unknown = taxonomy.unknown_codes(codes)
    if unknown:
        raise ValueError(f"unknown taxonomy code(s) {', '.join(unknown)} (未知领域代码); see shared/taxonomy.py")
    return list(dict.fromkeys(codes))


def _known_region(code: str) -> str:
    if not regions.is_known(code):
        raise ValueError(f"unknown region code {code} (未知地区代码), e.g. CN-SC or CN-SC.CD")
    return code


def _known_preference(code: str) -> str:
    if not regions.is_preference(code):
        raise ValueError(f"unknown region code {code} (未知地区代码), e.g. CN-SC, CN-SC.CD, "
                         f"a regional strategy such as RS-YRD or a transfer centre's area such as TTC-EAST")
    return code


def _future(moment: datetime) -> datetime:
    moment = to_utc(moment)
    current = datetime.now(UTC)
    if moment <= current:
        raise ValueError("expires_at must be in the future (到期时间必须晚于当前时间)")
    if moment > current + MAX_EXPIRY:
        raise ValueError("expires_at must be within 5 years (到期时间不得超过五年)")
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


FieldCodes = Annotated[list[Annotated[str, Field(max_length=20)]], Field(max_length=10), AfterValidator(_known_fields)]
RegionCode = Annotated[str, Field(max_length=20), AfterValidator(_known_region)]
PreferenceCode = Annotated[str, Field(max_length=20), AfterValidator(_known_preference)]
PreferenceCodes = Annotated[list[PreferenceCode], Field(max_length=20)]
ShortStrings = Annotated[list[Annotated[OneLine, Field(min_length=1, max_length=50)]], Field(max_length=20)]
FutureTime = Annotated[datetime, AfterValidator(_future)]


class Amount(MoneyRange):
    """A price, budget or ticket range as a client sends it: finite numbers only."""

    min: float | None = Field(None, ge=0, le=1e15, allow_inf_nan=False)
    max: float | None = Field(None, ge=0, le=1e15, allow_inf_nan=False)
    currency: CurrencyCode = "CNY"
