"""Routes of the deal pages (from match to contract): a participant's deals, one deal with the
stage to confirm next (the contract record with ``contract_signed``) or closing it with a reason,
and the funnel for organisers. Each asks the deals service's public API, like the other pages."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.web.api import Who, apis, back_to, form_of, pages, token_of
from services.web.apis import ApiError
from services.web.domain import deals, i18n, names

router = APIRouter(include_in_schema=False)
CONTRACT_FIELDS = ("contract_type", "amount", "currency", "transfer_mode", "field", "region", "signed_on")


@router.get("/deals")
async def my_deals(request: Request, who: Who, cursor: str | None = None) -> Response:
    answer = await apis(request).my_deals(token_of(who), **({"cursor": cursor} if cursor else {}))
    return pages(request).render(request, who, "deals.html",
                                 rows=[deals.deal_row(d, who.language) for d in answer["items"]],
                                 next_cursor=answer.get("next_cursor"))


@router.get("/deals/{deal_id}")
async def deal_page(deal_id: str, request: Request, who: Who, notice: str | None = None) -> Response:
    return await _render_deal(request, who, deal_id, notice=notice if notice in ("deals.confirmed", "deals.closed")
                              else None)


async def _render_deal(request: Request, who: Who, deal_id: str, *, notice: str | None = None,
                       errors: dict[str, str] | None = None, values: dict[str, Any] | None = None,
                       status_code: int = 200) -> Response:
    token = token_of(who)
    deal = await apis(request).deal(token, deal_id)
    other = next(p["participant_id"] for p in deal["parties"] if p["participant_id"] != who.participant_id)
    people = await apis(request).participants(token, {other})
    counterpart = people.get(other, {"party_type": next(p["party_type"] for p in deal["parties"]
                                                         if p["participant_id"] == other)})
    return pages(request).render(
        request, who, "deal.html", status_code=status_code, notice=notice, errors=errors or {},
        values=values or {"currency": "CNY"}, deal=deals.deal_view(deal, who.participant_id or "", who.language),
        counterpart=deals.counterpart_name(counterpart, who.language),
        reasons=deals.close_reason_options(who.language), contract_types=deals.contract_type_options(who.language),
        modes=deals.transfer_mode_options(who.language), field_options=names.field_options(who.language),
        region_options=names.region_options(who.language))


@router.post("/deals/{deal_id}/confirm")
async def confirm(deal_id: str, request: Request, who: Who) -> Response:
    token = token_of(who)
    form = await form_of(request)
    body: dict[str, Any] = {"stage": form.get("stage")}
    if form.get("with_contract"):
        body["contract"] = {name: str(form.get(name) or "").strip() for name in CONTRACT_FIELDS}
    try:
        await apis(request).confirm_deal(token, deal_id, body)
    except ApiError as exc:
        if exc.status != 422 or not isinstance(exc.detail, list):
            raise
        return await _render_deal(request, who, deal_id, errors=_errors(exc.detail, who.language),
                                  values=form, status_code=422)
    return back_to(f"/deals/{deal_id}", "deals.confirmed")


@router.post("/deals/{deal_id}/close")
async def close(deal_id: str, request: Request, who: Who) -> Response:
    token = token_of(who)
    form = await form_of(request)
    body = {"reason": form.get("reason"), "comment": str(form.get("comment") or "").strip() or None}
    try:
        await apis(request).close_deal(token, deal_id, body)
    except ApiError as exc:
        if exc.status != 422 or not isinstance(exc.detail, list):
            raise
        return await _render_deal(request, who, deal_id, errors=_errors(exc.detail, who.language),
                                  values=form, status_code=422)
    return back_to(f"/deals/{deal_id}", "deals.closed")


def _errors(detail: list[Any], language: str) -> dict[str, str]:
    """A 422's problems by form field (the last part of each ``loc``), in the visitor's language."""
    found: dict[str, str] = {}
    for problem in detail:
        if isinstance(problem, dict) and problem.get("loc"):
            found.setdefault(str(problem["loc"][-1]), i18n.error_message(problem, language))
    return found


@router.get("/funnel")
async def funnel(request: Request, who: Who, session: str | None = None) -> Response:
    """The funnel overall, or of one of the organiser's sessions (linked from the page)."""
    token = token_of(who)
    answer, hosted = await asyncio.gather(apis(request).funnel(token, **({"session": session} if session else {})),
                                          apis(request).sessions(limit=100))
    mine = [(s["id"], names.text(s["title"], who.language)) for s in hosted["items"]
            if s["organiser_id"] == who.participant_id]
    title = next((name for session_id, name in mine if session_id == session), None)
    return pages(request).render(request, who, "funnel.html", session_title=title, sessions=mine,
                                 steps=deals.funnel_rows(answer, who.language),
                                 money=deals.funnel_money(answer, who.language), contracts=answer["contracts"])
