"""Query API of the matching service: a participant's own matches and consortia (operators see
all), and feedback on a match, published through the outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.matching.storage import ACTIVE, After, MatchingStore, viewer_status
from shared.api.pagination import Page, PageParams, decode_cursor, encode_cursor, page_params
from shared.auth import Principal
from shared.events.matching import (
    AgendaData,
    ConsortiumData,
    DeclineReason,
    Explanation,
    FeatureScore,
    FeedbackDecision,
    MatchFeedbackData,
    MatchSide,
)
from shared.api.security import CurrentPrincipal, Participant
from shared.party_types import Kind

router = APIRouter(tags=["matches"])

Status = Literal["active", "retracted"]
MatchIdPath = Annotated[str, Path(min_length=1, max_length=100)]


class MatchView(BaseModel):
    match_id: str
    kind: Kind
    status: Status
    score: float
    offer: MatchSide
    need: MatchSide
    features: list[FeatureScore]
    explanation: Explanation
    retract_reason: str | None = None
    updated_at: datetime


class ConsortiumView(BaseModel):
    status: Status
    consortium: ConsortiumData
    retract_reason: str | None = None
    updated_at: datetime


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: FeedbackDecision
    reason: DeclineReason | None = Field(None, description="Required when declining / 拒绝时必填")
    comment: str | None = Field(None, max_length=1000)

    @model_validator(mode="after")
    def _reason_with_decline(self) -> FeedbackIn:
        if self.decision is FeedbackDecision.DECLINE and self.reason is None:
            raise ValueError("a decline needs a reason / 拒绝匹配需要说明原因")
        if self.decision is FeedbackDecision.ACCEPT and self.reason is not None:
            raise ValueError("a reason is only given with a decline / 仅拒绝时填写原因")
        return self


class FeedbackAccepted(BaseModel):
    match_id: str
    participant_id: str
    decision: FeedbackDecision
    reason: DeclineReason | None
    event_id: str


async def store(request: Request) -> MatchingStore:
    matching_store: MatchingStore = request.app.state.store
    return matching_store


Store = Annotated[MatchingStore, Depends(store)]
Paging = Annotated[PageParams, Depends(page_params)]


def _after(cursor: str | None) -> After | None:
    key = decode_cursor(cursor)
    if key is None:
        return None
    if len(key) != 2 or not isinstance(key[0], int | float) or not isinstance(key[1], str):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            detail=[{"loc": ["query", "cursor"], "msg": "invalid cursor", "type": "value_error"}])
    return float(key[0]), key[1]


def _next_cursor(after: After | None) -> str | None:
    return None if after is None else encode_cursor(list(after))


def _match_view(document: dict[str, Any], viewer: str | None) -> MatchView:
    data = document["data"]
    return MatchView(match_id=document["_id"], kind=data["kind"], status=viewer_status(document, viewer),
                     score=data["score"], offer=data["offer"], need=data["need"], features=data["features"],
                     explanation=data["explanation"], retract_reason=document.get("reason"),
                     updated_at=document["updated_at"])


async def _visible_match(match_id: str, principal: Principal, store: MatchingStore) -> dict[str, Any]:
    document = await store.match(match_id)
    if document is None or "data" not in document:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"match {match_id} not found / 未找到该匹配")
    if not principal.is_operator and principal.participant_id not in document["parties"]:
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            detail="you are not a party of this match / 您不是该匹配的参与方")
    return document


class MatchPage(Page[MatchView]):
    total: int | None = Field(None, description="How many of the caller's matches the filters select (all pages); "
                                                "null for operators / 符合条件的匹配总数（运营方为空）")


@router.get("/matches", response_model=MatchPage)
async def list_matches(
    principal: CurrentPrincipal, store: Store, paging: Paging,
    kind: Kind | None = None,
    min_score: Annotated[float | None, Query(ge=0, le=1)] = None,
    match_status: Annotated[Status | None, Query(alias="status")] = None,
) -> MatchPage:
    viewer, after = principal.participant_id, _after(paging.cursor)
    total = None
    if viewer is not None:
        listed = await store.listed_matches(viewer, kind=kind, min_score=min_score, status=match_status)
        documents, after = await store.listed_page(viewer, listed, after, paging.limit)
        total = len(listed)
    else:
        documents, after = await store.match_page(viewer=None, kind=kind, min_score=min_score, status=match_status,
                                                  after=after, limit=paging.limit)
    return MatchPage(items=[_match_view(d, viewer) for d in documents], next_cursor=_next_cursor(after), total=total)


@router.get("/matches/{match_id}", response_model=MatchView,
            responses={403: {"description": "not a party"}, 404: {"description": "no such match"}})
async def get_match(match_id: MatchIdPath, principal: CurrentPrincipal, store: Store) -> MatchView:
    return _match_view(await _visible_match(match_id, principal, store), principal.participant_id)


@router.post("/matches/{match_id}/feedback", response_model=FeedbackAccepted, status_code=status.HTTP_202_ACCEPTED,
             responses={403: {"description": "not a party"}, 404: {"description": "no such match"},
                        409: {"description": "match retracted"}})
async def give_feedback(match_id: MatchIdPath, body: FeedbackIn, principal: Participant, store: Store,
                        request: Request) -> FeedbackAccepted:
    document = await _visible_match(match_id, principal, store)
    if viewer_status(document, principal.participant_id) != ACTIVE:
        raise HTTPException(status.HTTP_409_CONFLICT,
                            detail="this match is retracted; feedback is closed / 该匹配已撤回，无法反馈")
    assert principal.participant_id is not None
    feedback = MatchFeedbackData(match_id=match_id, participant_id=principal.participant_id,
                                 decision=body.decision, reason=body.reason, comment=body.comment)
    event = await store.record_feedback(feedback, request.app.state.relay)
    return FeedbackAccepted(match_id=match_id, participant_id=feedback.participant_id, decision=feedback.decision,
                            reason=feedback.reason, event_id=event.id)


@router.get("/consortia", response_model=Page[ConsortiumView], tags=["consortia"])
async def list_consortia(principal: CurrentPrincipal, store: Store, paging: Paging,
                         consortium_status: Annotated[Status | None, Query(alias="status")] = None,
                         ) -> Page[ConsortiumView]:
    documents, after = await store.consortium_page(viewer=principal.participant_id, status=consortium_status,
                                                   after=_after(paging.cursor), limit=paging.limit)
    items = [ConsortiumView(status=d["status"], consortium=d["data"], retract_reason=d.get("reason"),
                            updated_at=d["updated_at"]) for d in documents]
    return Page(items=items, next_cursor=_next_cursor(after))


@router.get("/agendas/{session_id}", response_model=AgendaData, tags=["agendas"],
            responses={404: {"description": "no agenda yet"}})
async def get_agenda(session_id: Annotated[str, Path(min_length=1, max_length=100)], principal: CurrentPrincipal,
                     store: Store) -> AgendaData:
    """A session's agenda as planned: operators see every meeting; a participant sees only the
    meetings it takes part in (the host's full board is on the sessions service, host only)."""
    agenda = await store.agenda(session_id)
    if agenda is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            detail=f"no agenda for session {session_id} yet / 该场次尚未生成日程")
    return agenda if principal.is_operator else own_meetings(agenda, principal.subject)


def own_meetings(agenda: AgendaData, participant_id: str) -> AgendaData:
    return agenda.model_copy(update={
        "meetings": [m for m in agenda.meetings if participant_id in m.participant_ids],
        "unscheduled_must_meet": [pair for pair in agenda.unscheduled_must_meet if participant_id in pair]})
