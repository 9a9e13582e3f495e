"""A participant's view of published agendas, and their iCalendar export."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from icalendar import Calendar, Event
from pydantic import BaseModel, Field

from shared.events.common import LocalizedText
from shared.events.matching import AgendaData
from shared.events.sessions import Role
from shared.party_types import PartyType
from services.events_sessions.domain.model import SEATED, Session

PRODUCT_ID = "-//Hard-Tech Express//events_sessions//ZH-EN"
COUNTERPART = "X-HARDTECH-COUNTERPART-ID"  # a meeting event's counterpart, a participant id


class MyMeeting(BaseModel):
    """One 1:1 meeting of the participant: when, at which table, with whom."""

    session_id: str
    session_title: LocalizedText
    city: str = Field(description="The session's city code: its meetings' times are read in its time zone")
    venue: str | None
    slot: int
    starts_at: datetime
    ends_at: datetime
    table: int
    counterpart_id: str
    counterpart_party_type: PartyType | None
    counterpart_role: Role | None
    counterpart_listing_ids: list[str]
    must_meet: bool
    match_id: str | None


def meetings_of(participant_id: str, agenda: AgendaData, session: Session) -> list[MyMeeting]:
    slots = {slot.index: slot for slot in agenda.slots}
    mine = []
    for meeting in agenda.meetings:
        if participant_id not in meeting.participant_ids or meeting.slot not in slots:
            continue
        counterpart_id = next((p for p in meeting.participant_ids if p != participant_id), participant_id)
        counterpart = session.registration_of(counterpart_id)
        mine.append(MyMeeting(
            session_id=session.id, session_title=session.title, city=session.city, venue=session.venue,
            slot=meeting.slot,
            starts_at=slots[meeting.slot].starts_at, ends_at=slots[meeting.slot].ends_at, table=meeting.table,
            counterpart_id=counterpart_id,
            counterpart_party_type=counterpart.party_type if counterpart else None,
            counterpart_role=counterpart.role if counterpart else None,
            counterpart_listing_ids=counterpart.listing_ids if counterpart else [],
            must_meet=meeting.must_meet, match_id=meeting.match_id))
    return sorted(mine, key=meeting_order)


def meeting_order(meeting: MyMeeting) -> tuple[str, str, int]:
    return meeting.starts_at.isoformat(), meeting.session_id, meeting.slot


def _bilingual(text: LocalizedText) -> str:
    return " / ".join(t for t in (text.zh, text.en) if t)


def calendar(participant_id: str, sessions: Iterable[Session], meetings: Iterable[MyMeeting], *,
             stamp: datetime) -> bytes:
    """An iCalendar file with the sessions the participant holds a seat in, and their meetings."""
    cal = Calendar()
    cal.add("prodid", PRODUCT_ID)
    cal.add("version", "2.0")
    cal.add("x-wr-calname", "硬科技直通车 / Hard-Tech Express")
    for session in sessions:
        registration = session.registration_of(participant_id)
        if registration is None or registration.status not in SEATED:
            continue
        event = Event()
        event.add("uid", f"{session.id}@hardtech-express")
        event.add("dtstamp", stamp)
        event.add("dtstart", session.starts_at)
        event.add("dtend", session.ends_at)
        event.add("summary", _bilingual(session.title))
        if session.venue:
            event.add("location", session.venue)
        event.add("description", f"签到码 / Check-in code: {registration.check_in_code}")
        cal.add_component(event)
    for meeting in meetings:
        event = Event()
        event.add("uid", f"{meeting.session_id}-{meeting.slot}-{meeting.table}@hardtech-express")
        event.add("dtstamp", stamp)
        event.add("dtstart", meeting.starts_at)
        event.add("dtend", meeting.ends_at)
        event.add("summary", f"1:1 洽谈 / meeting: {meeting.counterpart_id}")
        # Who the counterpart is, for a client that names them (the web app puts their name here).
        event.add(COUNTERPART, meeting.counterpart_id)
        event.add("location", f"{meeting.venue or ''} 第{meeting.table + 1}桌 / table {meeting.table + 1}".strip())
        event.add("description", _bilingual(meeting.session_title))
        cal.add_component(event)
    return cal.to_ical()
