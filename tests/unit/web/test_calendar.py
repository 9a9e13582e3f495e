"""The agenda's iCalendar file with the meetings' counterparts named."""

from __future__ import annotations

from datetime import UTC, datetime

from icalendar import Calendar, Event

from services.web.domain import calendar


def _file() -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//test//")
    cal.add("version", "2.0")
    for uid, summary, counterpart in (("s_1", "成都5G专场 / Chengdu 5G", None),
                                      ("s_1-0-2", "1:1 洽谈 / meeting: p_uni", "p_uni"),
                                      ("s_1-1-0", "1:1 洽谈 / meeting: p_gone", "p_gone"),
                                      ("s_1-2-1", "1:1 洽谈 / meeting: p_one", "p_one")):
        event = Event()
        event.add("uid", uid)
        event.add("dtstart", datetime(2026, 12, 12, 3, tzinfo=UTC))
        event.add("summary", summary)
        if counterpart:
            event.add(calendar.COUNTERPART, counterpart)
        cal.add_component(event)
    return cal.to_ical()


def test_meetings_name_their_counterparts_in_both_languages():
    ics = _file()
    assert calendar.counterpart_ids(ics) == {"p_uni", "p_gone", "p_one"}
    named = calendar.with_names(ics, {"p_uni": ("电子科技大学 · 技术转移中心", "UESTC · Technology Transfer Office"),
                                      "p_one": ("ACME", "ACME")})
    summaries = [str(e["summary"]) for e in Calendar.from_ical(named).walk("VEVENT")]
    assert summaries == ["成都5G专场 / Chengdu 5G",
                         "1:1 洽谈 / meeting: 电子科技大学 · 技术转移中心 / UESTC · Technology Transfer Office",
                         "1:1 洽谈 / meeting: p_gone", "1:1 洽谈 / meeting: ACME"]
