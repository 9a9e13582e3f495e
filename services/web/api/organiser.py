"""Routes of a verified organiser: their sessions, creating one, and managing one (registrations
and the waitlist, closing registration, the agenda board, checking people in)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.web.apis import ApiError
from services.web.api.common import (Refused, Who, apis, back_to, form_of, pages, participant_names, submit,
                                     token_of)
from services.web.domain import i18n, names, sessions

router = APIRouter()


@router.get("/organise")
async def organise(request: Request, who: Who, notice: str | None = None) -> Response:
    token_of(who)
    answer = await apis(request).sessions(organiser=who.participant_id, limit=100)
    mine = [sessions.summary(s, who.language) for s in answer["items"]]
    return pages(request).render(request, who, "organise.html", sessions=mine,
                                 notice=notice if notice == "organise.created" else None)


def session_form_context(language: str) -> dict[str, Any]:
    return {"city_options": names.city_options(language), "zone_options": names.zone_options(language),
            "field_options": names.field_options(language), "party_options": names.party_options(language)}


@router.get("/organise/new")
async def new_session_page(request: Request, who: Who) -> Response:
    token_of(who)
    return pages(request).render(request, who, "session_form.html", session_id=None, values=sessions.NEW_SESSION,
                                 errors={}, **session_form_context(who.language))


@router.post("/organise/new")
async def new_session(request: Request, who: Who) -> Response:
    token = token_of(who)
    parsed = sessions.session_form(await form_of(request), datetime.now(UTC), who.language)
    outcome = await submit(lambda: apis(request).create_session(token, parsed.body), parsed.errors, who.language,
                           to_form=sessions.form_errors)
    if isinstance(outcome, Refused):
        return pages(request).render(request, who, "session_form.html", status_code=outcome.status, session_id=None,
                                     values=parsed.values, errors=outcome.errors,
                                     **session_form_context(who.language))
    return back_to(f"/organise/{outcome['id']}", "organise.created")


@router.get("/organise/{session_id}/edit")
async def edit_session_page(session_id: str, request: Request, who: Who) -> Response:
    token_of(who)
    session = await apis(request).session(session_id)
    if session["organiser_id"] != who.participant_id:  # the service refuses the change anyway
        raise ApiError(403, "not its organiser")
    values = sessions.session_values(session)
    return pages(request).render(request, who, "session_form.html", session_id=session_id, values=values,
                                 original=json.dumps(values, ensure_ascii=False), errors={},
                                 **session_form_context(who.language))


@router.post("/organise/{session_id}/edit")
async def edit_session(session_id: str, request: Request, who: Who) -> Response:
    """Send what the organiser changed: the form carries the values it was filled with, so the
    session is not asked for again."""
    token = token_of(who)
    form = await form_of(request)
    now = datetime.now(UTC)
    parsed = sessions.session_form(form, now, who.language)
    original = sessions.session_form(sessions.original_values(form.get("original")), now, who.language).body
    outcome = await submit(
        lambda: apis(request).update_session(token, session_id, sessions.session_changes(original, parsed.body)),
        parsed.errors, who.language, to_form=sessions.form_errors)
    if isinstance(outcome, Refused):
        return pages(request).render(request, who, "session_form.html", status_code=outcome.status,
                                     session_id=session_id, values=parsed.values, original=form.get("original", ""),
                                     errors=outcome.errors, **session_form_context(who.language))
    return back_to(f"/organise/{session_id}", "organise.updated")


@router.get("/organise/{session_id}")
async def manage_session(session_id: str, request: Request, who: Who, notice: str | None = None,
                         checked: str | None = None) -> Response:
    token = token_of(who)
    session, registrations, agenda = await asyncio.gather(
        apis(request).session(session_id), apis(request).registrations(token, session_id),
        apis(request).session_agenda(token, session_id))
    display = await participant_names(request, who, {r["participant_id"] for r in registrations})
    unknown = i18n.translate(who.language, "unknown.participant")
    seated, waiting = sessions.seated_and_waiting(registrations)
    return pages(request).render(
        request, who, "manage.html", session=sessions.summary(session, who.language), open=session["registration_open"],
        seated=seated, waiting=waiting, display=display, unknown=unknown,
        board=sessions.board(agenda, session["city"], display, unknown) if agenda else None,
        notice=notice if notice in ("organise.created", "organise.updated", "organise.closed") else None,
        checked=display.get(checked or "", None))


@router.post("/organise/{session_id}/close")
async def close_registration(session_id: str, request: Request, who: Who) -> Response:
    token = token_of(who)
    await form_of(request)
    await apis(request).close_registration(token, session_id)
    return back_to(f"/organise/{session_id}", "organise.closed")


@router.post("/organise/{session_id}/check-in")
async def check_in(session_id: str, request: Request, who: Who) -> Response:
    token = token_of(who)
    form = await form_of(request)
    registration = await apis(request).check_in(token, session_id, str(form.get("code", "")))
    return RedirectResponse(f"/organise/{session_id}?checked={quote(registration['participant_id'])}#check-in",
                            status_code=303)
