"""Thin HTTP routers: deals for their parties (and operators), funnels for organisers and
operators. Domain errors become 404/409/403/422 with a ``detail`` that says why."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, status
from pydantic import AfterValidator, BaseModel, Field

from shared.api.inputs import plain_text
from shared.api.pagination import Page, PageParams, decode_cursor, encode_cursor, page_params
from shared.api.security import CurrentPrincipal, Organiser, Participant
from shared.events.deals import CloseReason, DealStage
from services.deals.domain import funnel
from services.deals.domain.funnel import Dimension, Step
from services.deals.domain.mine import MyDeal
from services.deals.domain.model import Contract, Deal
from services.deals.handlers import DealService

DealId = Annotated[str, Path(min_length=1, max_length=64)]
STEP_LABELS = {Step.MADE: ("匹配", "matches made"), Step.ACCEPTED: ("接受并开启洽谈", "accepted"),
               Step.MET: ("会面", "met"), Step.SIGNED: ("签约", "contracts signed")}

deals = APIRouter(prefix="/deals", tags=["deals"],
                  responses={404: {"description": "Unknown deal"},
                             409: {"description": "Not allowed at the deal's stage"}})
me = APIRouter(prefix="/me", tags=["deals"])
funnels = APIRouter(prefix="/funnel", tags=["funnel"], responses={403: {"description": "Not the session's host"}})


def service(request: Request) -> DealService:
    return request.app.state.deals


class OpenDealIn(BaseModel):
    match_id: str = Field(min_length=1, max_length=64)


class ConfirmIn(BaseModel):
    stage: DealStage = Field(description="The next stage; contract_signed with the contract record")
    contract: Contract | None = None


class CloseIn(BaseModel):
    reason: CloseReason
    comment: Annotated[str, AfterValidator(plain_text)] | None = Field(
        None, max_length=1000, description="Required when the reason is 'other'")


@deals.post("", status_code=status.HTTP_201_CREATED, response_model=Deal)
async def open_deal(body: OpenDealIn, participant: Participant, request: Request) -> Deal:
    """A party of a match opens its deal (at 'contacted'); a match has one deal."""
    return await service(request).open(body.match_id, participant.subject)


@deals.get("/{deal_id}", response_model=Deal, responses={403: {"description": "Not a party of the deal"}})
async def get_deal(deal_id: DealId, caller: CurrentPrincipal, request: Request) -> Deal:
    """The deal with its contract record, amount included: for its parties and operators only."""
    return await service(request).get(deal_id, caller)


@deals.post("/{deal_id}/confirmations", response_model=Deal)
async def confirm_stage(deal_id: DealId, body: ConfirmIn, participant: Participant, request: Request) -> Deal:
    """Confirm that the deal reached its next stage; it moves once both parties confirmed."""
    return await service(request).confirm(deal_id, participant.subject, body.stage, body.contract)


@deals.post("/{deal_id}/close", response_model=Deal)
async def close_deal(deal_id: DealId, body: CloseIn, participant: Participant, request: Request) -> Deal:
    """Close the deal without a contract, with a reason."""
    return await service(request).close(deal_id, participant.subject, body.reason, body.comment)


@me.get("/deals", response_model=Page[MyDeal])
async def my_deals(participant: Participant, request: Request,
                   pages: Annotated[PageParams, Depends(page_params)]) -> Page[MyDeal]:
    """The participant's deals, most recently listed first: stage, whether one waits for its confirmation, the
    counterpart and the session by name, the two items by title, the contract (amount included)."""
    before = _number(decode_cursor(pages.cursor))
    items, lowest = await service(request).mine(participant.subject, before, pages.limit)
    return Page(items=items, next_cursor=None if lowest is None else encode_cursor([lowest]))


def _number(key: list[Any] | None) -> int | None:
    if key is None:
        return None
    if len(key) != 1 or not isinstance(key[0], int) or isinstance(key[0], bool) or key[0] < 1:
        raise HTTPException(422, detail=[{"loc": ["query", "cursor"], "msg": "invalid cursor", "type": "value_error"}])
    return key[0]


class StepOut(BaseModel):
    step: Step
    label_zh: str
    label_en: str
    count: int
    conversion: float | None = Field(description="Share of the previous step's count")
    mean_days: float | None = Field(description="Mean days since the previous step, where both times are known")


class FunnelOut(BaseModel):
    key: str = Field(description="all, or dimension:value")
    steps: list[StepOut]
    contracts: int
    turnover: dict[str, Decimal] = Field(description="Signed contracts' total amount per currency")
    closed: dict[CloseReason, int] = Field(description="Deals closed without a contract, by reason")


FILTER = Annotated[str | None, Query(min_length=1, max_length=64)]


@funnels.get("", response_model=FunnelOut)
async def get_funnel(organiser: Organiser, request: Request, session: FILTER = None, field: FILTER = None,
                     region: FILTER = None, strategy: FILTER = None,
                     pair: Annotated[str | None, Query(pattern=r"^[a-z]+>[a-z]+$",
                                                       description="offer party type>need party type")] = None,
                     ) -> FunnelOut:
    """Matches made → accepted → met → contracts signed, with turnover (aggregates only), overall or
    for one session (its host and operators), field, region (province or city), regional strategy or
    party-type pair."""
    given: dict[Dimension, Any] = {d: v for d, v in ((Dimension.SESSION, session), (Dimension.FIELD, field),
                                                      (Dimension.REGION, region), (Dimension.STRATEGY, strategy),
                                                      (Dimension.PAIR, pair)) if v is not None}
    if len(given) > 1:
        raise HTTPException(422, detail=[{"loc": ["query", d.value], "msg": "give at most one of session, field, "
                                          "region, strategy and pair / 只能指定一个维度", "type": "value_error"}
                                         for d in given])
    key = funnel.ALL if not given else funnel.key(*next(iter(given.items())))
    counts = await service(request).funnel(key, organiser, session)
    steps = [StepOut(step=s, label_zh=STEP_LABELS[s][0], label_en=STEP_LABELS[s][1], count=counts.counts[s],
                     conversion=None if s is Step.MADE else counts.conversion(s),
                     mean_days=None if s is Step.MADE else counts.mean_days(s)) for s in Step]
    return FunnelOut(key=key, steps=steps, contracts=counts.counts[Step.SIGNED], turnover=counts.turnover(),
                     closed={CloseReason(reason): count for reason, count in counts.closed.items()})
