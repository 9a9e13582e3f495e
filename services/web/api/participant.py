"""Routes of a participant's own things: the home page and their offers and needs (post, edit,
withdraw)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.web.apis import ApiError
from services.web.api.common import Refused, Who, apis, back_to, form_of, match_rows, pages, submit, token_of
from services.web.domain import names, views
from services.web.rendering import Visitor

router = APIRouter()
SIDES = ("offer", "need")
MINE = {"mine": "true", "limit": 100}
TOP = 3  # matches on the home page


@router.get("/")
async def home(request: Request, who: Who) -> Response:
    if not who.signed_in:
        return pages(request).render(request, who, "landing.html")
    token = token_of(who)
    # The names of the matches' counterparts come from listing: everything else of listing's is
    # asked for with them, so that the page waits for each service once. Matching and notification
    # are asked together first, matching for the three best matches and how many there are.
    matches, unread = await asyncio.gather(apis(request).matches(token, status="active", limit=TOP),
                                           apis(request).unread(token))
    # (how many offers and needs, not the items: listing counts them from its index)
    me, counts, rows = await asyncio.gather(apis(request).me(token), apis(request).item_counts(token),
                                            match_rows(request, who, matches["items"]))
    return pages(request).render(request, who, "home.html", me=me, offers=counts["offers"], needs=counts["needs"],
                                 matches=rows, match_count=matches.get("total", len(rows)), unread=unread)


@router.get("/items")
async def my_items(request: Request, who: Who, notice: str | None = None) -> Response:
    token = token_of(who)
    offers, needs = await asyncio.gather(apis(request).items(token, "offer", **MINE),
                                         apis(request).items(token, "need", **MINE))
    return pages(request).render(request, who, "items.html", offers=offers["items"], needs=needs["items"],
                                 notice=notice if notice in ("items.saved", "items.withdrawn_done") else None)


def item_context(who: Visitor, side: str) -> dict[str, Any]:
    """The pickers of an item form; the kinds the visitor's party type may post on this side (the
    party type from the token, only to choose what to show: the listing service checks it)."""
    return {"kind_options": names.kind_options(who.party_type or "", side, who.language),
            "field_options": names.field_options(who.language), "region_options": names.region_options(who.language)}


@router.get("/items/{side}/new")
async def new_item_page(side: str, request: Request, who: Who) -> Response:
    if side not in SIDES:
        raise ApiError(404, f"no such side {side}")
    token_of(who)
    return pages(request).render(request, who, "item_form.html", side=side, item_id=None, values={"fields": []},
                                 errors={}, **item_context(who, side))


@router.post("/items/{side}/new")
async def new_item(side: str, request: Request, who: Who) -> Response:
    token = token_of(who)
    parsed = views.item_form(await form_of(request), who.language)
    outcome = await submit(lambda: apis(request).post_item(token, side, parsed.body), parsed.errors, who.language,
                           to_form=views.item_errors, refused=(403, 422))
    if isinstance(outcome, Refused):
        return pages(request).render(request, who, "item_form.html", status_code=outcome.status, side=side,
                                     item_id=None, values=parsed.values, errors=outcome.errors,
                                     **item_context(who, side))
    return back_to("/items", "items.saved")


@router.get("/items/{side}/{item_id}/edit")
async def edit_item_page(side: str, item_id: str, request: Request, who: Who) -> Response:
    item = await apis(request).item(token_of(who), side, item_id)
    return pages(request).render(request, who, "item_form.html", side=side, item_id=item_id,
                                 values=views.item_values(item), errors={},
                                 title=names.text(item["title"], who.language), **item_context(who, side))


@router.post("/items/{side}/{item_id}/edit")
async def edit_item(side: str, item_id: str, request: Request, who: Who) -> Response:
    token = token_of(who)
    parsed = views.item_form(await form_of(request), who.language)
    outcome = await submit(lambda: apis(request).patch_item(token, side, item_id, views.patch_of(parsed.body)),
                           parsed.errors, who.language, to_form=views.item_errors)
    if isinstance(outcome, Refused):
        return pages(request).render(request, who, "item_form.html", status_code=outcome.status, side=side,
                                     item_id=item_id, values=parsed.values, errors=outcome.errors,
                                     title=names.text(parsed.body.get("title"), who.language),
                                     **item_context(who, side))
    return back_to("/items", "items.saved")


@router.post("/items/{side}/{item_id}/withdraw")
async def withdraw_item(side: str, item_id: str, request: Request, who: Who) -> Response:
    token = token_of(who)
    await form_of(request)
    await apis(request).withdraw_item(token, side, item_id)
    return back_to("/items", "items.withdrawn_done")
