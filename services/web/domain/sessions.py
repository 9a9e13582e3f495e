"""Sessions as pages show them: summaries in the session's time zone, the organiser's form turned
into the API's body, the agenda board (tables × slots) and a participant's agenda, with names."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.web.domain import names, times
from services.web.domain.i18n import translate
from services.web.domain.views import MatchRow
from shared.party_types import PartyType


@dataclass
class SessionSummary:
    session_id: str
    title: str
    when: str
    where: str
    fields: str
    seats: str
    accepting: bool
    closes: str
    zone: str


def summary(session: dict[str, Any], language: str) -> SessionSummary:
    city = session["city"]
    where = [names.region_name(city, language), names.zone_name(session.get("high_tech_zone"), language),
             session.get("venue") or ""]
    taken, waiting, capacity = session["seats_taken"], session["waitlisted"], session["capacity"]
    return SessionSummary(
        session_id=session["id"], title=names.text(session["title"], language),
        when=f"{times.date_time(session['starts_at'], city, language)}–{times.clock(session['ends_at'], city)}",
        where=" · ".join(p for p in where if p),
        fields="、".join(names.field_name(f, language) for f in session["fields"]) if language == "zh-CN"
        else ", ".join(names.field_name(f, language) for f in session["fields"]),
        seats=translate(language, "sessions.seats_of", presenters=taken.get("presenter", 0),
                        presenter_capacity=capacity["presenters"], attendees=taken.get("attendee", 0),
                        attendee_capacity=capacity["attendees"], waitlisted=sum(waiting.values())),
        accepting=session["accepting_registrations"],
        closes=times.date_time(session["registration_closes_at"], city, language),
        zone=times.zone_label(city, language))


def in_zone(session: dict[str, Any], zone: str | None) -> bool:
    """The API filters by city and field; the high-tech zone is filtered here."""
    return not zone or session.get("high_tech_zone") == zone


def session_page_asks(session: SessionSummary, registration: dict[str, Any] | None) -> str | None:
    """What a session's page shows beyond the session and the visitor's registration, so what it
    asks the other services for: while it accepts registrations, the visitor's open offers to
    present (``"offers"``, not registered) or their matches' counterparts to ask to meet
    (``"targets"``, registered); nothing once registration is closed."""
    if not session.accepting:
        return None
    return "targets" if registration is not None and registration["status"] != "cancelled" else "offers"


def meeting_targets(rows: list[MatchRow]) -> list[tuple[str, str]]:
    """Whom a participant may ask to meet: their matches' counterparts, each once, best first."""
    targets: dict[str, str] = {}
    for row in sorted(rows, key=lambda r: r.rank):
        targets.setdefault(row.counterpart_id, row.counterpart_name)
    return list(targets.items())


def seated_and_waiting(registrations: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Registrations with a seat in arrival order, and the waitlist by position."""
    seated = [r for r in registrations if r["status"] != "waitlisted"]
    waiting = sorted((r for r in registrations if r["status"] == "waitlisted"), key=lambda r: r["waitlist_position"])
    return seated, waiting


@dataclass
class SessionForm:
    values: dict[str, Any]
    errors: dict[str, str]
    body: dict[str, Any]


NEW_SESSION = {"fields": [], "presenters": "10", "attendees": "100", "slot_minutes": "20", "slots": "6", "tables": "10"}
LOCAL_TIMES = ("starts_at", "ends_at", "registration_closes_at", "first_slot_at")
NUMBERS = ("presenters", "attendees", "slot_minutes", "slots", "tables")


def session_form(form: dict[str, Any], now: datetime, language: str) -> SessionForm:
    """The organiser's form as the body of POST /sessions. Times are typed in the city's local
    time (``datetime-local``); registration opens now."""
    values = dict(form)
    values["fields"] = form.get("fields") or []
    errors: dict[str, str] = {}
    city = form.get("city") or None
    zone = times.zone_of(city)
    moments: dict[str, str | None] = {}
    for name in LOCAL_TIMES:
        raw = (form.get(name) or "").strip()
        try:
            moments[name] = datetime.fromisoformat(raw).replace(tzinfo=zone).isoformat() if raw else None
        except ValueError:
            moments[name] = None
        if moments[name] is None:
            errors[name] = translate(language, "organise.bad_time")
    numbers: dict[str, int | None] = {}
    for name in (*NUMBERS, *PLAN_LIMITS, *(f"quota_{p.value}" for p in PartyType)):
        raw = (form.get(name) or "").strip()
        try:
            numbers[name] = int(raw) if raw else None
        except ValueError:
            numbers[name] = None
            errors[name] = translate(language, "item.not_a_number")
    title = {k: v.strip() for k, v in (("zh", form.get("title_zh")), ("en", form.get("title_en"))) if v and v.strip()}
    body: dict[str, Any] = {
        "fields": values["fields"], "city": city, "high_tech_zone": form.get("high_tech_zone") or None,
        "venue": (form.get("venue") or "").strip() or None,
        "starts_at": moments["starts_at"], "ends_at": moments["ends_at"],
        "registration_opens_at": (now - timedelta(minutes=1)).isoformat(),
        "registration_closes_at": moments["registration_closes_at"],
        "capacity": {"presenters": numbers["presenters"], "attendees": numbers["attendees"]},
        "quotas": {p.value: numbers[f"quota_{p.value}"] for p in PartyType if numbers[f"quota_{p.value}"] is not None},
        "meeting_plan": {"first_slot_at": moments["first_slot_at"], "slot_minutes": numbers["slot_minutes"],
                         "slots": numbers["slots"], "tables": numbers["tables"],
                         **{k: numbers[k] for k in PLAN_LIMITS if numbers[k] is not None}},
    }
    if title:
        body["title"] = title
    return SessionForm(values, errors, body)


PLAN_LIMITS = ("min_meetings", "max_meetings")  # not on the form: kept as the session has them


def session_values(session: dict[str, Any]) -> dict[str, Any]:
    """A session from the API as the values of the organiser's form, times in its city's zone."""
    city = session["city"]
    plan = session.get("meeting_plan") or {}
    title = session.get("title") or {}

    def typed(moment: str | None) -> str:
        return times.local(moment, city).strftime("%Y-%m-%dT%H:%M") if moment else ""

    values: dict[str, Any] = {
        "title_zh": title.get("zh") or "", "title_en": title.get("en") or "", "fields": list(session["fields"]),
        "city": city, "high_tech_zone": session.get("high_tech_zone") or "", "venue": session.get("venue") or "",
        **{name: typed(session.get(name)) for name in ("starts_at", "ends_at", "registration_closes_at")},
        "presenters": str(session["capacity"]["presenters"]), "attendees": str(session["capacity"]["attendees"]),
        "first_slot_at": typed(plan.get("first_slot_at")),
        **{name: str(plan[name]) for name in ("slot_minutes", "slots", "tables", *PLAN_LIMITS) if name in plan}}
    values.update({f"quota_{party}": str(seats) for party, seats in (session.get("quotas") or {}).items()})
    return values


def original_values(raw: object) -> dict[str, Any]:
    """The values an edit form was filled with, as it carries them (JSON in a hidden field)."""
    try:
        values = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        values = None
    if not isinstance(values, dict):
        return {}
    return {k: v for k, v in values.items()
            if isinstance(v, str) or (k == "fields" and isinstance(v, list) and all(isinstance(f, str) for f in v))}


def session_changes(original: dict[str, Any], edited: dict[str, Any]) -> dict[str, Any]:
    """The body of PATCH /sessions/{id} for an edited form (both as ``session_form`` bodies): only
    what the organiser changed (an unchanged deadline already past is not sent again, which the
    API would refuse as a new one), the meeting plan's limits kept as they were; a cleared title is
    sent as null, which the API refuses by name."""
    changes: dict[str, Any] = {}
    for name, value in edited.items():
        if name == "registration_opens_at":
            continue
        before = original.get(name)
        if name == "meeting_plan" and isinstance(before, dict):
            value = {**{k: before[k] for k in PLAN_LIMITS if before.get(k) is not None}, **value}
        if value != before:
            changes[name] = value
    if "title" not in edited:
        changes["title"] = None
    return changes


def form_errors(errors: dict[str, str]) -> dict[str, str]:
    """The API's error keys (capacity_presenters, meeting_plan_slots, title…) as the form's."""
    renamed: dict[str, str] = {}
    for key, message in errors.items():
        key = key.removeprefix("capacity_").removeprefix("meeting_plan_")
        key = {"title": "title_zh", "meeting_plan": "first_slot_at", "capacity": "presenters"}.get(key, key)
        if key.startswith("quotas_"):
            key = "quota_" + key.removeprefix("quotas_")
        renamed.setdefault(key, message)
    return renamed


@dataclass
class BoardCell:
    names: list[str]
    must_meet: bool


@dataclass
class Board:
    slots: list[str]  # each slot's local start time
    tables: list[list[BoardCell | None]]  # [table][slot]


def board(agenda: dict[str, Any], city: str, display: dict[str, str], unknown: str) -> Board:
    slots = sorted(agenda["slots"], key=lambda s: s["index"])
    position = {s["index"]: i for i, s in enumerate(slots)}
    tables_used = max((m["table"] for m in agenda["meetings"]), default=-1) + 1
    grid: list[list[BoardCell | None]] = [[None] * len(slots) for _ in range(tables_used)]
    for meeting in agenda["meetings"]:
        if meeting["slot"] in position:
            grid[meeting["table"]][position[meeting["slot"]]] = BoardCell(
                [display.get(p, unknown) for p in meeting["participant_ids"]], meeting.get("must_meet", False))
    return Board([f"{times.clock(s['starts_at'], city)}–{times.clock(s['ends_at'], city)}" for s in slots], grid)


@dataclass
class AgendaRow:
    session_title: str
    when: str
    table: int
    counterpart: str
    must_meet: bool
    zone: str


def agenda_rows(meetings: list[dict[str, Any]], display: dict[str, str], unknown: str,
                language: str) -> list[AgendaRow]:
    """A participant's meetings by time, each in its session's zone (from the session's city),
    naming the counterpart."""
    rows = []
    for m in sorted(meetings, key=lambda m: (m["starts_at"], m["session_id"], m["slot"])):
        city = m.get("city")
        rows.append(AgendaRow(
            session_title=names.text(m["session_title"], language),
            when=f"{times.date_time(m['starts_at'], city, language)}–{times.clock(m['ends_at'], city)}",
            table=m["table"] + 1, counterpart=display.get(m["counterpart_id"], unknown), must_meet=m["must_meet"],
            zone=times.zone_label(city, language)))
    return rows
