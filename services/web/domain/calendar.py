"""A participant's agenda as an iCalendar file with names: the events_sessions service's file,
each meeting's summary naming the counterpart it identifies by id."""

from __future__ import annotations

from icalendar import Calendar

COUNTERPART = "X-HARDTECH-COUNTERPART-ID"  # the events_sessions service's property on a meeting event


def counterpart_ids(ics: bytes) -> set[str]:
    return {str(event[COUNTERPART]) for event in Calendar.from_ical(ics).walk("VEVENT") if COUNTERPART in event}


def with_names(ics: bytes, names: dict[str, tuple[str, str]]) -> bytes:
    """The file with each meeting summarised as ``1:1 洽谈 / meeting: 中文名 / English name``
    (``names`` maps ids to the name in Chinese and in English); an unknown counterpart is left
    as the file has it."""
    calendar = Calendar.from_ical(ics)
    for event in calendar.walk("VEVENT"):
        found = names.get(str(event.get(COUNTERPART, "")))
        if found is not None:
            zh, en = found
            event.pop("summary", None)
            event.add("summary", f"1:1 洽谈 / meeting: {zh if zh == en else f'{zh} / {en}'}")
    return calendar.to_ical()
