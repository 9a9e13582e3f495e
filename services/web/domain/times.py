"""Times as a person at the session reads them: in the session's own time zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from services.web.domain.i18n import ZH

# China keeps one standard time; Hong Kong, Macao and Taiwan have their own zones (same offset).
_ZONES = {"CN-HK": "Asia/Hong_Kong", "CN-MO": "Asia/Macau", "CN-TW": "Asia/Taipei"}
CHINA = "Asia/Shanghai"
_WEEKDAYS_ZH = "一二三四五六日"


def zone_of(city: str | None) -> ZoneInfo:
    """The time zone of a city or province code."""
    province = (city or "").split(".", 1)[0]
    return ZoneInfo(_ZONES.get(province, CHINA))


def parse(moment: str | datetime) -> datetime:
    return moment if isinstance(moment, datetime) else datetime.fromisoformat(moment.replace("Z", "+00:00"))


def local(moment: str | datetime, city: str | None) -> datetime:
    return parse(moment).astimezone(zone_of(city))


def date_time(moment: str | datetime, city: str | None, language: str) -> str:
    """``2026年12月12日（周六）11:20`` or ``Sat 12 Dec 2026, 11:20``, in the city's zone."""
    at = local(moment, city)
    if language == ZH:
        return f"{at.year}年{at.month}月{at.day}日（周{_WEEKDAYS_ZH[at.weekday()]}）{at:%H:%M}"
    return f"{at:%a} {at.day} {at:%b %Y}, {at:%H:%M}"


def clock(moment: str | datetime, city: str | None) -> str:
    return f"{local(moment, city):%H:%M}"


def zone_label(city: str | None, language: str) -> str:
    """The zone as a person names it: 北京时间 / China Standard Time (UTC+8)."""
    zone = zone_of(city)
    if zone.key == CHINA:
        return "北京时间" if language == ZH else "China Standard Time (UTC+8)"
    offset = datetime.now(zone).strftime("%z")
    return f"UTC{offset[:3]}:{offset[3:]} ({zone.key})"
