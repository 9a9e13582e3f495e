"""The deal pages (from match to contract): a participant's deals, one deal with the
stage to confirm next (the contract record with ``contract_signed``) or closing it with a reason,
and the funnel for organisers. Each asks the deals service's public API, like the other pages."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.web.api.common import Refused, Who, apis, back_to, form_of, pages, submit, token_of
from services.web.domain import deals, names

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
    sent = await submit(lambda: apis(request).confirm_deal(token, deal_id, body), {}, who.language,
                        to_form=_contract_fields)
    if isinstance(sent, Refused):
        return await _render_deal(request, who, deal_id, errors=sent.errors, values=form, status_code=sent.status)
    return back_to(f"/deals/{deal_id}", "deals.confirmed")


@router.post("/deals/{deal_id}/close")
async def close(deal_id: str, request: Request, who: Who) -> Response:
    token = token_of(who)
    form = await form_of(request)
    body = {"reason": form.get("reason"), "comment": str(form.get("comment") or "").strip() or None}
    sent = await submit(lambda: apis(request).close_deal(token, deal_id, body), {}, who.language)
    if isinstance(sent, Refused):
        return await _render_deal(request, who, deal_id, errors=sent.errors, values=form, status_code=sent.status)
    return back_to(f"/deals/{deal_id}", "deals.closed")


def _contract_fields(errors: dict[str, str]) -> dict[str, str]:
    """The contract's fields are the form's fields (``contract_amount`` is ``amount``)."""
    return {key.removeprefix("contract_"): message for key, message in errors.items()}


@router.get("/funnel")
async def funnel(request: Request, who: Who, session: str | None = None, by: str | None = None) -> Response:
    """The funnel overall, of one of the organiser's sessions (linked from the page), or by field,
    region, regional strategy or party-type pair (``by``: ``dimension:value``, chosen in a form)."""
    token = token_of(who)
    query = {"session": session} if session else deals.funnel_filter(by)
    answer, hosted = await asyncio.gather(apis(request).funnel(token, **query),
                                          apis(request).sessions(organiser=who.participant_id, limit=100))
    mine = [(s["id"], names.text(s["title"], who.language)) for s in hosted["items"]]
    title = next((name for session_id, name in mine if session_id == session), None)
    options = deals.funnel_options(who.language)
    chosen = next((o for o in options if not session and o.value == by), None)
    return pages(request).render(request, who, "funnel.html", session_title=title, sessions=mine,
                                 option_groups=deals.grouped(options), chosen=chosen,
                                 steps=deals.funnel_rows(answer, who.language),
                                 money=deals.funnel_money(answer, who.language), contracts=answer["contracts"])
