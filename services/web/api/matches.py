"""Routes of a participant's matches (ranked, one by one, accepted or declined) and proposed
five-party teams."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.web.api.common import Who, apis, back_to, form_of, match_rows, pages, participant_names, token_of
from services.web.domain import views
from shared.events.matching import DeclineReason

router = APIRouter()
REASONS = [r.value for r in DeclineReason]
PAGE = 20  # matches on a page


@router.get("/matches")
async def my_matches(request: Request, who: Who, notice: str | None = None, cursor: str = "",
                     back: str = "") -> Response:
    """The active matches, best first, PAGE at a time (matching's cursors; see ``views.paging``)."""
    answer = await apis(request).matches(token_of(who), status="active", limit=PAGE,
                                         **({"cursor": cursor} if cursor else {}))
    where = views.paging("/matches", cursor, back, answer.get("next_cursor"), len(answer["items"]),
                         answer.get("total") or 0, PAGE)
    rows = await match_rows(request, who, answer["items"], first_rank=max(where.first, 1))
    return pages(request).render(request, who, "matches.html", rows=rows, reasons=REASONS, paging=where,
                                 notice=notice if notice == "matches.feedback_sent" else None)


@router.get("/matches/{match_id}")
async def one_match(match_id: str, request: Request, who: Who) -> Response:
    """One match, where a link (from an e-mail or the inbox) can take a participant to answer it."""
    rows = await match_rows(request, who, [await apis(request).match(token_of(who), match_id)])
    return pages(request).render(request, who, "match.html", row=rows[0], reasons=REASONS)


@router.post("/matches/{match_id}/feedback")
async def match_feedback(match_id: str, request: Request, who: Who) -> Response:
    token = token_of(who)
    await apis(request).feedback(token, match_id, views.feedback_body(await form_of(request)))
    return back_to("/matches", "matches.feedback_sent")


@router.get("/teams")
async def teams(request: Request, who: Who) -> Response:
    consortia = (await apis(request).consortia(token_of(who)))["items"]
    display = await participant_names(request, who, views.team_member_ids(consortia))
    return pages(request).render(request, who, "teams.html",
                                 teams=views.team_rows(consortia, who.participant_id or "", display, who.language))
