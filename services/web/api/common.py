"""What every route module shares: the visitor, the services' client and the renderer, the posted
form once its CSRF token is checked, the redirect after a form, one way of submitting a form to a
service (its 422 shown beside the fields), and counterparts' names."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse

from services.web.apis import ApiError, Apis
from services.web.domain import names, views
from services.web.rendering import Pages, Visitor, csrf_ok, visitor

Who = Annotated[Visitor, Depends(visitor)]
T = TypeVar("T")
LISTS = ("fields", "listing_ids", "categories")  # form names that may repeat


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
        form[key] = values if key in LISTS else values[-1]
    if not csrf_ok(request, form.get("csrf")):
        raise BadForm()
    return form


def back_to(path: str, notice: str | None = None) -> RedirectResponse:
    return RedirectResponse(path + (f"?notice={quote(notice)}" if notice else ""), status_code=303)


@dataclass
class Refused:
    """A form the page shows again: the status to answer with and the errors per form field."""

    status: int
    errors: dict[str, str]


async def submit(call: Callable[[], Awaitable[T]], typed_errors: dict[str, str], language: str, *,
                 to_form: Callable[[dict[str, str]], dict[str, str]] = lambda errors: errors,
                 refused: tuple[int, ...] = (422,)) -> T | Refused:
    """Send a form to a service unless it already has errors of its own (a number that is not
    one); a refusal with a status in ``refused`` comes back as the errors per form field
    (``to_form`` renames the API's field names to the form's), the form's own errors first.
    Any other error goes on to the error pages."""
    if typed_errors:
        return Refused(422, dict(typed_errors))
    try:
        return await call()
    except ApiError as exc:
        if exc.status not in refused:
            raise
        return Refused(exc.status, {**to_form(views.field_errors(exc.detail, language)), **typed_errors})


async def participant_names(request: Request, who: Visitor, ids: Iterable[str]) -> dict[str, str]:
    """Participants' names by id, in the visitor's language, in one round trip to listing."""
    found = await apis(request).participants(token_of(who), set(ids))
    return {pid: names.participant_name(p, who.language) for pid, p in found.items()}


async def match_rows(request: Request, who: Visitor, matches: list[dict[str, Any]], *,
                     first_rank: int = 1) -> list[views.MatchRow]:
    """Matches ranked, each naming the counterpart."""
    me = who.participant_id or ""
    display = await participant_names(request, who, views.counterpart_ids(matches, me))
    return views.match_rows(matches, me, display, who.language, first_rank=first_rank)
