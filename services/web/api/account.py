"""Routes of the visitor's account: the language switch, signing up, in and out."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.web.apis import ApiError
from services.web.api.common import Refused, Who, apis, back_to, form_of, pages, submit
from services.web.domain import i18n, names, views
from services.web.rendering import LANGUAGE_COOKIE, SESSION_COOKIE

router = APIRouter()
YEAR = 365 * 86400


@router.get("/language/{language}")
async def choose_language(language: str, request: Request, next: str = "/") -> Response:
    response = back_to(next if next.startswith("/") and not next.startswith("//") else "/")
    chosen = i18n.normalise(language)
    if chosen:
        pages(request).remember(response, LANGUAGE_COOKIE, chosen, max_age=YEAR)
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
    response = back_to("/")
    pages(request).remember(response, SESSION_COOKIE, answer["access_token"], max_age=int(answer["expires_in"]))
    if not request.cookies.get(LANGUAGE_COOKIE):  # the participant's language unless they chose one here
        pages(request).remember(response, LANGUAGE_COOKIE, me["language"], max_age=YEAR)
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
    """Sign up, then sign in at once: the token (never the key) kept in the session cookie, the
    key shown once."""
    form = await form_of(request)
    parsed = views.signup_form(form, who.language)

    async def register() -> tuple[dict[str, Any], dict[str, Any]]:
        registered = await apis(request).sign_up(parsed.body)
        return registered, await apis(request).token(registered["api_key"])

    outcome = await submit(register, parsed.errors, who.language, to_form=views.signup_errors)
    if isinstance(outcome, Refused):
        return pages(request).render(request, who, "signup.html", status_code=outcome.status, values=form,
                                     errors=outcome.errors, **signup_context(who.language))
    registered, answer = outcome
    response = pages(request).render(request, who, "signed_up.html", api_key=registered["api_key"])
    pages(request).remember(response, SESSION_COOKIE, answer["access_token"], max_age=int(answer["expires_in"]))
    pages(request).remember(response, LANGUAGE_COOKIE, registered["language"], max_age=YEAR)
    return response
