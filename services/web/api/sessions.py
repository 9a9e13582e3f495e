"""Routes of sessions as a participant sees them: browsing by city, zone and field, one session
(register, ask to meet a match, the check-in QR) and their agenda (page and ``.ics``)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.web.api.common import Who, apis, back_to, form_of, match_rows, pages, participant_names, token_of
from services.web.domain import calendar, i18n, names, sessions
from shared.events.sessions import MeetingPreference

router = APIRouter()


@router.get("/sessions")
async def browse_sessions(request: Request, who: Who, city: str = "", zone: str = "", field: str = "") -> Response:
    params: dict[str, Any] = {"limit": 100, **({"city": city} if city else {}), **({"field": field} if field else {})}
    answer = await apis(request).sessions(**params)
    found = [sessions.summary(s, who.language) for s in answer["items"] if sessions.in_zone(s, zone)]
    return pages(request).render(request, who, "sessions.html", sessions=found,
                                 values={"city": city, "zone": zone, "field": field},
                                 city_options=names.city_options(who.language),
                                 zone_options=names.zone_options(who.language),
                                 field_options=names.top_field_options(who.language))


@router.get("/sessions/{session_id}")
async def session_page(session_id: str, request: Request, who: Who, notice: str | None = None) -> Response:
    """The session and the visitor's registration; then only what the page shows of the others
    (``sessions.session_page_asks``): nothing once registration is closed, the visitor's open
    offers while they may register, their matches' counterparts (named) once registered."""
    token = token_of(who)
    found, registration = await asyncio.gather(apis(request).session(session_id),
                                               apis(request).my_registration(token, session_id))
    session = sessions.summary(found, who.language)
    offers: list[dict[str, Any]] = []
    targets: list[tuple[str, str]] = []
    asks = sessions.session_page_asks(session, registration)
    if asks == "offers":
        offers = (await apis(request).items(token, "offer", mine="true", status="open", limit=100))["items"]
    elif asks == "targets":
        matches = await apis(request).matches(token, status="active", limit=100)
        targets = sessions.meeting_targets(await match_rows(request, who, matches["items"]))
    return pages(request).render(
        request, who, "session.html", session=session, registration=registration, targets=targets,
        preferences=[p.value for p in MeetingPreference],
        offers=[(o["id"], names.text(o["title"], who.language)) for o in offers],
        notice=notice if notice in ("session.registered", "session.requested") else None)


@router.post("/sessions/{session_id}/register")
async def register(session_id: str, request: Request, who: Who) -> Response:
    token = token_of(who)
    form = await form_of(request)
    await apis(request).register(token, session_id, {"role": form.get("role"),
                                                     "listing_ids": form.get("listing_ids", [])})
    return back_to(f"/sessions/{session_id}", "session.registered")


@router.post("/sessions/{session_id}/meetings")
async def request_meeting(session_id: str, request: Request, who: Who) -> Response:
    token = token_of(who)
    form = await form_of(request)
    await apis(request).request_meeting(token, session_id, {"target_id": form.get("target_id"),
                                                            "preference": form.get("preference")})
    return back_to(f"/sessions/{session_id}", "session.requested")


@router.get("/sessions/{session_id}/check-in.svg")
async def check_in_code(session_id: str, request: Request, who: Who) -> Response:
    image = await apis(request).check_in_image(token_of(who), session_id)
    return Response(image.content, media_type="image/svg+xml", headers={"cache-control": "private, no-store"})


@router.get("/agenda")
async def my_agenda(request: Request, who: Who) -> Response:
    token = token_of(who)
    meetings = (await apis(request).my_agenda(token))["items"]
    display = await participant_names(request, who, {m["counterpart_id"] for m in meetings})
    rows = sessions.agenda_rows(meetings, display, i18n.translate(who.language, "unknown.participant"), who.language)
    return pages(request).render(request, who, "agenda.html", rows=rows)


@router.get("/agenda.ics")
async def my_calendar(request: Request, who: Who) -> Response:
    """The events_sessions service's file with each meeting's counterpart named in both languages."""
    token = token_of(who)
    ics = (await apis(request).my_calendar(token)).content
    found = await apis(request).participants(token, calendar.counterpart_ids(ics))
    both = {pid: (names.participant_name(p, i18n.ZH), names.participant_name(p, i18n.EN)) for pid, p in found.items()}
    return Response(calendar.with_names(ics, both), media_type="text/calendar; charset=utf-8",
                    headers={"content-disposition": 'attachment; filename="hardtech-agenda.ics"'})
