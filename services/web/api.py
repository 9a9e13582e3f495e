"""Routes of the web app: each asks the services' public APIs for what its page shows and renders
it. Errors of those APIs become pages in the visitor's language; a 422 shows beside its field."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sse_starlette.sse import EventSourceResponse

from services.web.apis import ApiError, Apis, Unavailable
from services.web.domain import i18n, names, sessions, views
from services.web.rendering import LANGUAGE_COOKIE, SESSION_COOKIE, Pages, Visitor, csrf_ok, visitor
from shared.events.matching import DeclineReason
from shared.events.sessions import MeetingPreference

router = APIRouter(include_in_schema=False)
Who = Annotated[Visitor, Depends(visitor)]
SIDES = ("offer", "need")


class SignInNeeded(Exception):
    """The page needs a signed-in visitor, or a service refused the visitor's token (401)."""


class BadForm(Exception):
    """A form arrived without the visitor's CSRF token."""


def apis(request: Request) -> Apis:
    return request.app.state.apis


def pages(request: Request) -> Pages:
    return request.app.state.pages


def token_of(who: Visitor) -> str:
    if who.token is None:
        raise SignInNeeded()
    return who.token


async def form_of(request: Request) -> dict[str, Any]:
    """The posted form (a list where a name repeats), once its CSRF token is checked."""
    raw = await request.form()
    form: dict[str, Any] = {}
    for key in raw:
        values = raw.getlist(key)
        form[key] = values if key in ("fields", "listing_ids", "categories") else values[-1]
    if not csrf_ok(request, form.get("csrf")):
        raise BadForm()
    return form


def back_to(path: str, notice: str | None = None) -> RedirectResponse:
    return RedirectResponse(path + (f"?notice={quote(notice)}" if notice else ""), status_code=303)


# -- language, sign in, sign up ------------------------------------------------------------------

@router.get("/language/{language}")
async def choose_language(language: str, request: Request, next: str = "/") -> Response:
    response = back_to(next if next.startswith("/") and not next.startswith("//") else "/")
    chosen = i18n.normalise(language)
    if chosen:
        pages(request).remember(response, LANGUAGE_COOKIE, chosen, max_age=365 * 86400)
    return response


@router.get("/signin")
async def sign_in_page(request: Request, who: Who, expired: bool = False) -> Response:
    return pages(request).render(request, who, "signin.html", error="signin.expired" if expired else None)


@router.post("/signin")
async def sign_in(request: Request, who: Who) -> Response:
    form = await form_of(request)
    api_key = str(form.get("api_key", "")).strip()
    try:
        if not api_key:
            raise ApiError(401, "no key")
        answer = await apis(request).token(api_key)
        me = await apis(request).me(answer["access_token"])
    except ApiError as exc:
        error = "signin.throttled" if exc.status == 429 else "signin.bad_key"
        return pages(request).render(request, who, "signin.html", status_code=exc.status if exc.status in (401, 429)
                                     else 422, error=error)
    return signed_in(request, answer, me)


def signed_in(request: Request, answer: dict[str, Any], me: dict[str, Any]) -> Response:
    """Keep the token (never the key) in an HttpOnly, SameSite=Strict cookie; speak the
    participant's language unless they chose one here before."""
    response = back_to("/")
    page = pages(request)
    page.remember(response, SESSION_COOKIE, answer["access_token"], max_age=int(answer["expires_in"]))
    if not request.cookies.get(LANGUAGE_COOKIE):
        page.remember(response, LANGUAGE_COOKIE, me["language"], max_age=365 * 86400)
    return response


@router.post("/signout")
async def sign_out(request: Request) -> Response:
    await form_of(request)
    response = back_to("/")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def signup_context(language: str) -> dict[str, Any]:
    return {"party_options": names.party_options(language), "region_options": names.region_options(language),
            "field_options": names.field_options(language)}


@router.get("/signup")
async def sign_up_page(request: Request, who: Who) -> Response:
    return pages(request).render(request, who, "signup.html", values={"language": who.language}, errors={},
                                 **signup_context(who.language))


@router.post("/signup")
async def sign_up(request: Request, who: Who) -> Response:
    form = await form_of(request)
    body = {
        "party_type": form.get("party_type") or None,
        "organisation": _text(form, "organisation"), "display_name": _text(form, "display_name"),
        "region": form.get("region") or None, "fields": form.get("fields", []),
        "language": form.get("language") or who.language, "email": (form.get("email") or "").strip() or None,
    }
    errors = {f"{name}_zh": i18n.translate(who.language, "signup.one_language")
              for name in ("organisation", "display_name") if body[name] is None}
    try:
        if errors:
            raise ApiError(422, [])
        registered = await apis(request).sign_up(body)
        answer = await apis(request).token(registered["api_key"])
    except ApiError as exc:
        if exc.status != 422:
            raise
        errors = {**views.field_errors(exc.detail, who.language), **errors}
        for name in ("organisation", "display_name"):
            if name in errors:
                errors[f"{name}_zh"] = errors.pop(name)
        return pages(request).render(request, who, "signup.html", status_code=422, values=form, errors=errors,
                                     **signup_context(who.language))
    response = pages(request).render(request, who, "signed_up.html", api_key=registered["api_key"])
    pages(request).remember(response, SESSION_COOKIE, answer["access_token"], max_age=int(answer["expires_in"]))
    pages(request).remember(response, LANGUAGE_COOKIE, registered["language"], max_age=365 * 86400)
    return response


def _text(form: dict[str, Any], name: str) -> dict[str, str] | None:
    return views.localized(form.get(f"{name}_zh"), form.get(f"{name}_en"))


# -- home -----------------------------------------------------------------------------------------

@router.get("/")
async def home(request: Request, who: Who) -> Response:
    if not who.signed_in:
        return pages(request).render(request, who, "landing.html")
    token = token_of(who)
    me, offers, needs, matches, unread = await asyncio.gather(
        apis(request).me(token), apis(request).items(token, "offer", mine="true", limit=100),
        apis(request).items(token, "need", mine="true", limit=100),
        apis(request).matches(token, status="active", limit=100), apis(request).unread(token))
    rows = await _match_rows(request, who, matches["items"])
    return pages(request).render(request, who, "home.html", me=me, offers=len(offers["items"]),
                                 needs=len(needs["items"]), matches=rows[:3], match_count=len(rows), unread=unread)


async def _match_rows(request: Request, who: Visitor, matches: list[dict[str, Any]]) -> list[views.MatchRow]:
    me = who.participant_id or ""
    others = {views.counterpart_of(m, me)["owner_id"] for m in matches}
    found = await apis(request).participants(token_of(who), others)
    display = {pid: _participant_name(p, who.language) for pid, p in found.items()}
    return views.match_rows(matches, me, display, who.language)


def _participant_name(participant: dict[str, Any], language: str) -> str:
    organisation = names.text(participant.get("organisation"), language)
    person = names.text(participant.get("display_name"), language)
    return f"{organisation} · {person}" if person and person != organisation else organisation


# -- my offers and needs ----------------------------------------------------------------------------

@router.get("/items")
async def my_items(request: Request, who: Who, notice: str | None = None) -> Response:
    token = token_of(who)
    offers, needs = await asyncio.gather(apis(request).items(token, "offer", mine="true", limit=100),
                                         apis(request).items(token, "need", mine="true", limit=100))
    return pages(request).render(request, who, "items.html", offers=offers["items"], needs=needs["items"],
                                 notice=notice if notice in ("items.saved", "items.withdrawn_done") else None)


def item_context(who: Visitor, party_type: str, side: str) -> dict[str, Any]:
    return {"kind_options": names.kind_options(party_type, side, who.language),
            "field_options": names.field_options(who.language), "region_options": names.region_options(who.language)}


@router.get("/items/{side}/new")
async def new_item_page(side: str, request: Request, who: Who) -> Response:
    if side not in SIDES:
        raise ApiError(404, f"no such side {side}")
    me = await apis(request).me(token_of(who))
    return pages(request).render(request, who, "item_form.html", side=side, item_id=None, values={"fields": []},
                                 errors={}, **item_context(who, me["party_type"], side))


@router.post("/items/{side}/new")
async def new_item(side: str, request: Request, who: Who) -> Response:
    token = token_of(who)
    form = await form_of(request)
    parsed = views.item_form(form, who.language)
    try:
        if parsed.errors:
            raise ApiError(422, [])
        await apis(request).post_item(token, side, parsed.body)
    except ApiError as exc:
        if exc.status not in (403, 422):
            raise
        me = await apis(request).me(token)
        errors = {**views.field_errors(exc.detail, who.language), **parsed.errors}
        return pages(request).render(request, who, "item_form.html", status_code=exc.status, side=side, item_id=None,
                                     values=parsed.values, errors=_title_errors(errors),
                                     **item_context(who, me["party_type"], side))
    return back_to("/items", "items.saved")


def _title_errors(errors: dict[str, str]) -> dict[str, str]:
    """An error about a whole bilingual text is shown at its Chinese box."""
    for name in ("title", "description"):
        if name in errors:
            errors.setdefault(f"{name}_zh", errors.pop(name))
    return errors


@router.get("/items/{side}/{item_id}/edit")
async def edit_item_page(side: str, item_id: str, request: Request, who: Who) -> Response:
    token = token_of(who)
    item, me = await asyncio.gather(apis(request).item(token, side, item_id), apis(request).me(token))
    return pages(request).render(request, who, "item_form.html", side=side, item_id=item_id,
                                 values=views.item_values(item), errors={},
                                 title=names.text(item["title"], who.language),
                                 **item_context(who, me["party_type"], side))


@router.post("/items/{side}/{item_id}/edit")
async def edit_item(side: str, item_id: str, request: Request, who: Who) -> Response:
    token = token_of(who)
    form = await form_of(request)
    parsed = views.item_form(form, who.language)
    try:
        if parsed.errors:
            raise ApiError(422, [])
        await apis(request).patch_item(token, side, item_id, views.patch_of(parsed.body))
    except ApiError as exc:
        if exc.status != 422:
            raise
        me = await apis(request).me(token)
        errors = {**views.field_errors(exc.detail, who.language), **parsed.errors}
        return pages(request).render(request, who, "item_form.html", status_code=422, side=side, item_id=item_id,
                                     values=parsed.values, errors=_title_errors(errors),
                                     title=names.text(parsed.body.get("title"), who.language),
                                     **item_context(who, me["party_type"], side))
    return back_to("/items", "items.saved")


@router.post("/items/{side}/{item_id}/withdraw")
async def withdraw_item(side: str, item_id: str, request: Request, who: Who) -> Response:
    token = token_of(who)
    await form_of(request)
    await apis(request).withdraw_item(token, side, item_id)
    return back_to("/items", "items.withdrawn_done")


# -- matches ----------------------------------------------------------------------------------------

@router.get("/matches")
async def my_matches(request: Request, who: Who, notice: str | None = None) -> Response:
    answer = await apis(request).matches(token_of(who), limit=100)
    rows = await _match_rows(request, who, answer["items"])
    return pages(request).render(request, who, "matches.html", rows=rows, reasons=[r.value for r in DeclineReason],
                                 notice=notice if notice == "matches.feedback_sent" else None)


@router.get("/matches/{match_id}")
async def one_match(match_id: str, request: Request, who: Who) -> Response:
    """One match, where a link (from an e-mail or the inbox) can take a participant to answer it."""
    rows = await _match_rows(request, who, [await apis(request).match(token_of(who), match_id)])
    return pages(request).render(request, who, "match.html", row=rows[0], reasons=[r.value for r in DeclineReason])


@router.post("/matches/{match_id}/feedback")
async def match_feedback(match_id: str, request: Request, who: Who) -> Response:
    token = token_of(who)
    form = await form_of(request)
    decision = form.get("decision")
    body: dict[str, Any] = {"decision": decision}
    if decision == "decline":
        body["reason"] = form.get("reason") or None
        if (form.get("comment") or "").strip():
            body["comment"] = form["comment"].strip()
    await apis(request).feedback(token, match_id, body)
    return back_to("/matches", "matches.feedback_sent")


@router.get("/teams")
async def teams(request: Request, who: Who) -> Response:
    token = token_of(who)
    consortia = (await apis(request).consortia(token))["items"]
    ids = {m["participant_id"] for c in consortia for m in c["consortium"]["members"]}
    people = await apis(request).participants(token, ids)
    display = {pid: _participant_name(p, who.language) for pid, p in people.items()}
    return pages(request).render(request, who, "teams.html",
                                 teams=views.team_rows(consortia, who.participant_id or "", display, who.language))


# -- sessions ---------------------------------------------------------------------------------------

@router.get("/sessions")
async def browse_sessions(request: Request, who: Who, city: str = "", zone: str = "", field: str = "") -> Response:
    params: dict[str, Any] = {"limit": 100}
    if city:
        params["city"] = city
    if field:
        params["field"] = field
    answer = await apis(request).sessions(**params)
    found = [sessions.summary(s, who.language) for s in answer["items"] if sessions.in_zone(s, zone)]
    return pages(request).render(request, who, "sessions.html", sessions=found,
                                 values={"city": city, "zone": zone, "field": field},
                                 city_options=names.city_options(who.language),
                                 zone_options=names.zone_options(who.language),
                                 field_options=names.top_field_options(who.language))


@router.get("/sessions/{session_id}")
async def session_page(session_id: str, request: Request, who: Who, notice: str | None = None) -> Response:
    token = token_of(who)
    session, registration, matches, offers = await asyncio.gather(
        apis(request).session(session_id), apis(request).my_registration(token, session_id),
        apis(request).matches(token, status="active", limit=100),
        apis(request).items(token, "offer", mine="true", status="open", limit=100))
    rows = await _match_rows(request, who, matches["items"])
    me = who.participant_id or ""
    targets: dict[str, str] = {}  # counterpart id -> name, best match first
    for match, row in zip(sorted(matches["items"], key=lambda m: -m["score"]), sorted(rows, key=lambda r: r.rank),
                          strict=False):
        targets.setdefault(views.counterpart_of(match, me)["owner_id"], row.counterpart_name)
    return pages(request).render(
        request, who, "session.html", session=sessions.summary(session, who.language), registration=registration,
        targets=list(targets.items()), preferences=[p.value for p in MeetingPreference],
        offers=[(o["id"], names.text(o["title"], who.language)) for o in offers["items"]],
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
    session_ids = {m["session_id"] for m in meetings}
    found, people = await asyncio.gather(
        asyncio.gather(*(apis(request).session(s) for s in session_ids)),
        apis(request).participants(token, {m["counterpart_id"] for m in meetings}))
    cities = {s["id"]: s["city"] for s in found}
    display = {pid: _participant_name(p, who.language) for pid, p in people.items()}
    rows = sessions.agenda_rows(meetings, cities, display, i18n.translate(who.language, "unknown.participant"),
                                who.language)
    return pages(request).render(request, who, "agenda.html", rows=rows)


@router.get("/agenda.ics")
async def my_calendar(request: Request, who: Who) -> Response:
    calendar = await apis(request).my_calendar(token_of(who))
    return Response(calendar.content, media_type="text/calendar; charset=utf-8",
                    headers={"content-disposition": 'attachment; filename="hardtech-agenda.ics"'})


# -- inbox ----------------------------------------------------------------------------------------

@router.get("/inbox")
async def inbox(request: Request, who: Who) -> Response:
    entries = (await apis(request).inbox(token_of(who), limit=50))["items"]
    return pages(request).render(request, who, "inbox.html", entries=[views.inbox_entry(e) for e in entries])


@router.post("/inbox/{notification_id}/read")
async def mark_read(notification_id: str, request: Request, who: Who) -> Response:
    token = token_of(who)
    await form_of(request)
    await apis(request).mark_read(token, notification_id)
    return back_to("/inbox")


@router.get("/inbox/stream")
async def inbox_stream(request: Request, who: Who) -> Response:
    """The unread count, live: the notification service's stream relayed as ``unread`` events,
    each sent when an entry arrives (the browser cannot send the token itself to that service)."""
    token = token_of(who)
    service = apis(request)

    async def counts() -> AsyncIterator[dict[str, Any]]:
        # A browser reconnects by itself; when the stream is refused (switched off in the
        # preferences, a token that expired) it waits a minute rather than the default 3 s.
        try:
            yield {"event": "unread", "data": str(await service.unread(token)), "retry": 60_000}
            async with service.stream(token, None) as upstream:
                async for line in upstream.aiter_lines():
                    if line.startswith("data:"):
                        yield {"event": "unread", "data": str(await service.unread(token))}
        except (ApiError, Unavailable):
            return

    return EventSourceResponse(counts(), ping=15)


@router.get("/preferences")
async def preferences_page(request: Request, who: Who) -> Response:
    view = await apis(request).preferences(token_of(who))
    return pages(request).render(request, who, "preferences.html", values=views.preference_values(view), errors={},
                                 webhook=view["webhook"], secret=None, saved=False)


@router.post("/preferences")
async def save_preferences(request: Request, who: Who) -> Response:
    token = token_of(who)
    form = await form_of(request)
    parsed = views.preferences_form(form, who.language)
    try:
        if parsed.errors:
            raise ApiError(422, [])
        view = await apis(request).put_preferences(token, views.preferences_body(parsed.values))
    except ApiError as exc:
        if exc.status != 422:
            raise
        errors = {**views.preference_errors(views.field_errors(exc.detail, who.language)), **parsed.errors}
        return pages(request).render(request, who, "preferences.html", status_code=422, values=parsed.values,
                                     errors=errors, webhook={"disabled_at": None}, secret=None, saved=False)
    return pages(request).render(request, who, "preferences.html", values=views.preference_values(view), errors={},
                                 webhook=view["webhook"], secret=view.get("webhook_secret"), saved=True)


# -- organisers -------------------------------------------------------------------------------------

@router.get("/organise")
async def organise(request: Request, who: Who, notice: str | None = None) -> Response:
    token_of(who)
    answer = await apis(request).sessions(limit=100)
    mine = [sessions.summary(s, who.language) for s in answer["items"] if s["organiser_id"] == who.participant_id]
    return pages(request).render(request, who, "organise.html", sessions=mine,
                                 notice=notice if notice == "organise.created" else None)


def session_form_context(language: str) -> dict[str, Any]:
    return {"city_options": names.city_options(language), "zone_options": names.zone_options(language),
            "field_options": names.field_options(language), "party_options": names.party_options(language)}


@router.get("/organise/new")
async def new_session_page(request: Request, who: Who) -> Response:
    token_of(who)
    defaults = {"fields": [], "presenters": "10", "attendees": "100", "slot_minutes": "20", "slots": "6",
                "tables": "10"}
    return pages(request).render(request, who, "session_form.html", values=defaults, errors={},
                                 **session_form_context(who.language))


@router.post("/organise/new")
async def new_session(request: Request, who: Who) -> Response:
    token = token_of(who)
    form = await form_of(request)
    parsed = sessions.session_form(form, datetime.now(UTC), who.language)
    try:
        if parsed.errors:
            raise ApiError(422, [])
        created = await apis(request).create_session(token, parsed.body)
    except ApiError as exc:
        if exc.status != 422:
            raise
        errors = {**sessions.form_errors(views.field_errors(exc.detail, who.language)), **parsed.errors}
        return pages(request).render(request, who, "session_form.html", status_code=422, values=parsed.values,
                                     errors=errors, **session_form_context(who.language))
    return back_to(f"/organise/{created['id']}", "organise.created")


@router.get("/organise/{session_id}")
async def manage_session(session_id: str, request: Request, who: Who, notice: str | None = None,
                         checked: str | None = None) -> Response:
    token = token_of(who)
    session, registrations, agenda = await asyncio.gather(
        apis(request).session(session_id), apis(request).registrations(token, session_id),
        apis(request).session_agenda(token, session_id))
    ids = {r["participant_id"] for r in registrations}
    people = await apis(request).participants(token, ids)
    display = {pid: _participant_name(p, who.language) for pid, p in people.items()}
    unknown = i18n.translate(who.language, "unknown.participant")
    seated = [r for r in registrations if r["status"] != "waitlisted"]
    waiting = sorted((r for r in registrations if r["status"] == "waitlisted"), key=lambda r: r["waitlist_position"])
    return pages(request).render(
        request, who, "manage.html", session=sessions.summary(session, who.language), open=session["registration_open"],
        seated=seated, waiting=waiting, display=display, unknown=unknown,
        board=sessions.board(agenda, session["city"], display, unknown) if agenda else None,
        notice=notice if notice in ("organise.created", "organise.closed") else None,
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
