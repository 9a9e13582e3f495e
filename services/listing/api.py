"""HTTP routes of the listing service: thin, all rules live in ``domain`` and ``handlers``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field

from services.listing.domain import items
from services.listing.domain.items import ItemIn, ItemPatch, ItemQuery, query_terms
from services.listing.domain.participants import ParticipantIn, ParticipantPatch
from services.listing.domain.validation import RequestModel
from services.listing.handlers import ListingService
from shared.api.idempotency import Body, IdempotencyKey, answer_once
from shared import regions, taxonomy
from shared.api.app import Problem
from shared.api.pagination import Page, PageParams, decode_cursor, encode_cursor, page_params
from shared.api.security import CurrentPrincipal, Participant
from shared.events.listing import ItemData, ItemStatus, ParticipantData
from shared.party_types import Kind, PartyType, Side

EntityId = Annotated[str, Path(max_length=100)]
ERRORS = {404: {"model": Problem}, 409: {"model": Problem}}


async def _service(request: Request) -> ListingService:
    return request.app.state.listing


Service = Annotated[ListingService, Depends(_service)]


def _query_error(name: str, message: str) -> HTTPException:
    return HTTPException(422,
                         detail=[{"loc": ["query", name], "msg": message, "type": "value_error"}])


# participants and identity

class RegisteredParticipant(ParticipantData):
    api_key: str = Field(description="Shown once: exchange it at POST /auth/token. Only its hash is stored.")


class TokenRequest(RequestModel):
    api_key: str = Field(min_length=1, max_length=200)


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds until the token expires")


participants = APIRouter(tags=["participants"])


@participants.post("/participants", status_code=201, response_model=RegisteredParticipant)
async def register(body: ParticipantIn, request: Request, service: Service, idempotency_key: IdempotencyKey = None):
    """Register a participant of one of the six party types (注册参与方). The API key is returned once."""

    async def produce() -> RegisteredParticipant:
        participant, api_key = await service.register(body)
        return RegisteredParticipant(**participant.model_dump(), api_key=api_key)

    def without_key(answer: Body) -> Body:
        return {k: v for k, v in answer.items() if k != "api_key"}

    async def with_fresh_key(stored: Body) -> Body:
        # The key is never stored, so a retried registration gets a new one; the first stops working.
        return {**stored, "api_key": await service.new_key(stored["id"])}

    return await answer_once(request, idempotency_key, "anonymous:POST /participants", 201, produce,
                             to_store=without_key, on_replay=with_fresh_key)


@participants.get("/participants/me", response_model=ParticipantData)
async def my_profile(principal: Participant, service: Service) -> ParticipantData:
    return await service.participant(principal.subject)


@participants.patch("/participants/me", response_model=ParticipantData, responses=ERRORS)
async def update_my_profile(body: ParticipantPatch, principal: Participant, service: Service) -> ParticipantData:
    return await service.update_participant(principal.subject, body)


@participants.get("/participants/{participant_id}", response_model=ParticipantData, responses=ERRORS)
async def participant(participant_id: EntityId, _: CurrentPrincipal, service: Service) -> ParticipantData:
    return await service.participant(participant_id)


auth = APIRouter(tags=["identity"])


@auth.post("/auth/token", response_model=TokenResponse, responses={429: {"model": Problem}})
async def token(body: TokenRequest, request: Request, service: Service) -> TokenResponse:
    """Exchange an API key for a short-lived signed token (JWT) that every service verifies locally."""
    client = request.client.host if request.client else "unknown"
    access_token, ttl = await service.token(body.api_key, client)
    return TokenResponse(access_token=access_token, expires_in=ttl)


# listings (offers) and demands (needs): the same routes on both sides

def item_router(side: Side) -> APIRouter:
    path = "/listings" if side is Side.OFFER else "/demands"
    router = APIRouter(prefix=path, tags=[path.strip("/")])

    @router.post("", status_code=201, response_model=ItemData, responses={403: {"model": Problem}},
                 operation_id=f"create_{side.value}")
    async def create(body: ItemIn, request: Request, principal: Participant, service: Service,
                     idempotency_key: IdempotencyKey = None):
        scope = f"{principal.subject}:POST {path}"

        async def produce() -> ItemData:
            item_id = None if idempotency_key is None else await request.app.state.idempotency.reserved_id(
                scope, idempotency_key, lambda: items.new_item_id(side))
            return await service.create_item(side, principal, body, item_id)

        return await answer_once(request, idempotency_key, scope, 201, produce)

    @router.get("", response_model=Page[ItemData], operation_id=f"list_{side.value}s")
    async def search(
        principal: CurrentPrincipal, service: Service, page: Annotated[PageParams, Depends(page_params)],
        kind: Kind | None = None,
        field: Annotated[str | None, Query(max_length=20, description="Taxonomy code; a field includes its sub-fields")] = None,
        region: Annotated[str | None, Query(max_length=20, description="Region code; a province includes its cities")] = None,
        party_type: PartyType | None = None,
        item_status: Annotated[ItemStatus | None, Query(alias="status", description="Default: open")] = None,
        mine: Annotated[bool, Query(description="Only the caller's own items, in every status")] = False,
        q: Annotated[str | None, Query(max_length=200, description="Free text in Chinese or English")] = None,
    ) -> Page[ItemData]:
        if field is not None and not taxonomy.is_known(field):
            raise _query_error("field", f"unknown taxonomy code {field} (未知领域代码)")
        if region is not None and not regions.is_known(region):
            raise _query_error("region", f"unknown region code {region} (未知地区代码)")
        terms = query_terms(q) if q is not None else []
        if q is not None and not terms:
            raise _query_error("q", "no searchable words in q (查询中没有可检索的词)")
        before = decode_cursor(page.cursor)
        if before is not None and not isinstance(before[0], str):
            raise _query_error("cursor", "invalid cursor")
        query = ItemQuery(principal.subject, principal.is_operator, kind=kind, field=field, region=region,
                          party_type=party_type, status=item_status, mine=mine, terms=tuple(terms))
        found = await service.list_items(side, query, before=before and before[0], limit=page.limit + 1)
        next_cursor = encode_cursor([found[page.limit - 1].id]) if len(found) > page.limit else None
        return Page[ItemData](items=found[:page.limit], next_cursor=next_cursor)

    @router.get("/{item_id}", response_model=ItemData, responses=ERRORS, operation_id=f"get_{side.value}")
    async def read(item_id: EntityId, principal: CurrentPrincipal, service: Service) -> ItemData:
        return await service.item(side, item_id, principal)

    @router.patch("/{item_id}", response_model=ItemData, responses=ERRORS, operation_id=f"update_{side.value}")
    async def update(item_id: EntityId, body: ItemPatch, principal: Participant, service: Service) -> ItemData:
        return await service.update_item(side, item_id, principal, body)

    @router.post("/{item_id}/withdraw", response_model=ItemData, responses=ERRORS,
                 operation_id=f"withdraw_{side.value}")
    async def withdraw(item_id: EntityId, request: Request, principal: Participant, service: Service,
                       idempotency_key: IdempotencyKey = None):
        return await answer_once(request, idempotency_key, f"{principal.subject}:POST {path}/{item_id}/withdraw",
                                 200, lambda: service.withdraw_item(side, item_id, principal))

    return router


ROUTERS = [participants, auth, item_router(Side.OFFER), item_router(Side.NEED)]
