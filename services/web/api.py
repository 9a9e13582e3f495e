"""Routes of the web app: each asks the services' public APIs for what its page shows and renders
it. Errors of those APIs become pages in the visitor's language; a 422 shows beside its field."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from services.web.apis import ApiError, Apis
from services.web.domain import i18n, names, views
from services.web.rendering import LANGUAGE_COOKIE, SESSION_COOKIE, Pages, Visitor, csrf_ok, visitor
from shared.events.matching import DeclineReason

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
        form[key] = values if key in ("fields",) else values[-1]
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
    return views._localized(form.get(f"{name}_zh"), form.get(f"{name}_en"))


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
                                 values=views.item_values(item), errors={}, title=names.text(item["title"], who.language),
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
                                     title=views._localized(form.get("title_zh"), form.get("title_en")) and
                                     names.text(views._localized(form.get("title_zh"), form.get("title_en")),
                                                who.language) or "",
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
