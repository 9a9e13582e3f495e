"""Pages rendered with Jinja2: who is visiting (from the session cookie), in which language, the
CSRF token of their forms, and the helpers templates call (``t``, names, local times)."""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from services.web.domain import i18n, names, times
from shared.party_types import PartyType

TEMPLATES = Path(__file__).parent / "templates"
SESSION_COOKIE = "hardtech_session"
LANGUAGE_COOKIE = "hardtech_lang"
CSRF_COOKIE = "hardtech_csrf"
PARTY_TYPES = frozenset(p.value for p in PartyType)


@dataclass(frozen=True)
class Visitor:
    """Who the browser is signed in as. The token's claims are read without checking its signature,
    only to choose what to show (an organiser's menu): every service checks it on every call."""

    token: str | None
    participant_id: str | None
    party_type: str | None
    roles: frozenset[str]
    language: str
    csrf: str

    @property
    def signed_in(self) -> bool:
        return self.token is not None

    @property
    def organiser(self) -> bool:
        return "organiser" in self.roles


def claims_of(token: str | None) -> dict[str, Any] | None:
    """The claims of a session token that has not expired, or None."""
    if not token:
        return None
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return None
    if not isinstance(claims.get("sub"), str) or claims.get("pty") not in PARTY_TYPES or \
            int(claims.get("exp", 0)) <= time.time():
        return None
    return claims


def visitor(request: Request) -> Visitor:
    claims = claims_of(request.cookies.get(SESSION_COOKIE))
    language = i18n.normalise(request.cookies.get(LANGUAGE_COOKIE)) or i18n.from_accept_language(
        request.headers.get("accept-language"))
    csrf = request.cookies.get(CSRF_COOKIE) or ""
    if len(csrf) != 43:
        csrf = secrets.token_urlsafe(32)  # set on the response by ``render``
    if claims is None:
        return Visitor(None, None, None, frozenset(), language, csrf)
    return Visitor(request.cookies[SESSION_COOKIE], claims["sub"], claims["pty"],
                   frozenset(claims.get("roles", [])), language, csrf)


def csrf_ok(request: Request, submitted: object) -> bool:
    """Double submit: the form's hidden token equals the HttpOnly, SameSite=Strict cookie's."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    return bool(cookie) and isinstance(submitted, str) and hmac.compare_digest(cookie, submitted)


class Pages:
    def __init__(self, secure_cookies: bool, dashboard_url: str):
        self.secure = secure_cookies
        self.env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                               undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        self.env.globals.update(names=names, times=times, dashboard_url=dashboard_url)

    def render(self, request: Request, who: Visitor, template: str, status_code: int = 200,
               **context: Any) -> HTMLResponse:
        language = who.language

        def t(key: str, **values: object) -> str:
            return i18n.translate(language, key, **values)

        html = self.env.get_template(template).render(
            t=t, lang=language, who=who, path=request.url.path, query=str(request.url.query), **context)
        response = HTMLResponse(html, status_code=status_code)
        self.remember(response, CSRF_COOKIE, who.csrf, max_age=None)
        return response

    def remember(self, response: Any, name: str, value: str, max_age: int | None) -> None:
        response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="strict", secure=self.secure,
                            path="/")
