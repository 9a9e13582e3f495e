"""HTTP routes of the listing service: thin, all rules live in ``domain`` and ``handlers``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, Field, StringConstraints

from services.listing.domain import items
from services.listing.domain.items import ItemIn, ItemPatch, ItemQuery, query_terms
from services.listing.domain import ratelimit
from services.listing.domain.participants import OrganiserDecision, ParticipantIn, ParticipantPatch, public_profile
from services.listing.domain.validation import RequestModel
from services.listing.handlers import ListingService
from shared.api.idempotency import Body, IdempotencyKey, answer_once
from shared import regions, taxonomy
from shared.api.app import Problem
from shared.api.pagination import MAX_LIMIT, Page, PageParams, decode_cursor, page_params
from shared.api.security import CurrentPrincipal, Operator, Participant
from shared.auth import jwks
from shared.events.common import Language, LocalizedText
from shared.events.listing import ItemData, ItemStatus, ParticipantData
from shared.party_types import Kind, PartyType, Side

EntityId = Annotated[str, Path(max_length=100)]
EntityIdQuery = Annotated[str, StringConstraints(min_length=1, max_length=100)]
ERRORS: dict[int | str, dict[str, Any]] = {404: {"model": Problem}, 409: {"model": Problem}}


async def _service(request: Request) -> ListingService:
    return request.app.state.listing


Service = Annotated[ListingService, Depends(_service)]


def _query_error(name: str, message: str) -> HTTPException:
    return HTTPException(422,
                         detail=[{"loc": ["query", name], "msg": message, "type": "value_error"}])


# participants and identity

class RegisteredParticipant(ParticipantData):
    api_key: str | None = Field(description="Shown in this response only: exchange it at POST /auth/token. "
                                            "Only its digest is stored; a replayed request answers null.")
    api_key_note: str | None = Field(None, description="Why api_key is null")


class NewApiKey(BaseModel):
    api_key: str = Field(description="Shown once. Only its digest is stored.")
    previous_keys_valid_until: datetime = Field(description="The participant's earlier keys stop working then")


class PublicParticipant(BaseModel):
    """What a signed-in caller sees of another participant: who they are, not how to reach them."""

    id: str
    party_type: PartyType
    organisation: LocalizedText
    display_name: LocalizedText
    region: str
    fields: list[str]
    language: Language
    organiser: bool


class TokenRequest(RequestModel):
    api_key: str = Field(min_length=1, max_length=200)


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds until the token expires")


REPLAY_NOTE = ("an API key is shown only in the first response to a sign-up; rotate it at "
               "POST /participants/me/api-key if it was lost (API 密钥仅在首次响应中显示)")


def client_address(request: Request) -> str:
    settings = request.app.state.settings
    return ratelimit.client_address(request.client.host if request.client else None,
                                    request.headers.get("x-forwarded-for"), settings.proxy_networks())


participants = APIRouter(tags=["participants"])


@participants.post("/participants", status_code=201, response_model=RegisteredParticipant,
                   responses={429: {"model": Problem}})
async def register(body: ParticipantIn, request: Request, service: Service, idempotency_key: IdempotencyKey = None):
    """Register a participant of one of the six party types (注册参与方). The API key is in this
    response only; a government or agency participant hosts sessions once an operator grants it
    the organiser role."""

    async def produce() -> RegisteredParticipant:
        participant, api_key = await service.register(body, client_address(request))
        return RegisteredParticipant(**participant.model_dump(), api_key=api_key)

    def without_key(answer: Body) -> Body:
        return {**answer, "api_key": None, "api_key_note": REPLAY_NOTE}

    return await answer_once(request, idempotency_key, "anonymous:POST /participants", 201, produce,
                             to_store=without_key)


@participants.get("/participants/me", response_model=ParticipantData)
async def my_profile(principal: Participant, service: Service) -> ParticipantData:
    return await service.participant(principal.subject)


class ItemCounts(BaseModel):
    offers: int = Field(description="The caller's offers (listings), in every status")
    needs: int = Field(description="The caller's needs (demands), in every status")


@participants.get("/participants/me/item-counts", response_model=ItemCounts)
async def my_item_counts(principal: Participant, service: Service) -> ItemCounts:
    """How many offers and needs I have, in every status, without reading them (a home page's
    figures; the items themselves: ``GET /listings?mine=true``)."""
    counts = await service.owned_counts(principal.subject)
    return ItemCounts(offers=counts[Side.OFFER], needs=counts[Side.NEED])


@participants.patch("/participants/me", response_model=ParticipantData, responses=ERRORS)
async def update_my_profile(body: ParticipantPatch, principal: Participant, service: Service) -> ParticipantData:
    return await service.update_participant(principal.subject, body)


@participants.post("/participants/me/api-key", status_code=201, response_model=NewApiKey)
async def rotate_my_key(principal: Participant, service: Service) -> NewApiKey:
    """A new API key (shown once); the previous ones keep working for the overlap, then end."""
    api_key, valid_until = await service.rotate_key(principal.subject)
    return NewApiKey(api_key=api_key, previous_keys_valid_until=valid_until)


@participants.delete("/participants/me/api-key", status_code=204)
async def revoke_my_keys(principal: Participant, service: Service) -> Response:
    """Revoke every API key of mine at once (tokens already issued run out within their lifetime)."""
    await service.revoke_keys(principal.subject)
    return Response(status_code=204)


class PublicParticipants(BaseModel):
    items: list[PublicParticipant] = Field(description="In the order asked for; an unknown id is left out")


@participants.get("/participants", response_model=PublicParticipants)
async def participants_by_id(
    _: CurrentPrincipal, service: Service,
    ids: Annotated[list[EntityIdQuery], Query(alias="id", min_length=1, max_length=MAX_LIMIT,
                                              description="Participant ids, the parameter repeated (at most 100)")],
) -> PublicParticipants:
    """Several participants' public profiles at once (organisation, names, region, fields), as a
    page naming many counterparts asks for them."""
    found = await service.participants_by_id(list(dict.fromkeys(ids)))
    return PublicParticipants(items=[PublicParticipant.model_validate(public_profile(p)) for p in found])


@participants.get("/participants/{participant_id}", response_model=ParticipantData | PublicParticipant,
                  responses=ERRORS)
async def participant(participant_id: EntityId, principal: CurrentPrincipal,
                      service: Service) -> ParticipantData | PublicParticipant:
    """The whole profile for the participant itself and operators; for anyone else, organisation,
    names, region and fields, never e-mail or webhook address."""
    found = await service.participant(participant_id)
    if principal.is_operator or principal.subject == participant_id:
        return found
    return PublicParticipant.model_validate(public_profile(found))


operators = APIRouter(tags=["operators"])


@operators.put("/participants/{participant_id}/organiser", response_model=ParticipantData, responses=ERRORS)
async def decide_organiser(participant_id: EntityId, body: OrganiserDecision, _: Operator,
                           service: Service) -> ParticipantData:
    """Grant or revoke the organiser role of a government or agency participant (operators only),
    with the reason on record; the change is published as ``participant.organiser_granted.v1`` or
    ``participant.organiser_revoked.v1``. It takes effect at the participant's next token."""
    return await service.decide_organiser(participant_id, body)


@operators.delete("/participants/{participant_id}/api-key", status_code=204, responses=ERRORS)
async def revoke_keys(participant_id: EntityId, _: Operator, service: Service) -> Response:
    """Revoke every API key of a participant (operators only)."""
    await service.revoke_keys(participant_id)
    return Response(status_code=204)


auth = APIRouter(tags=["identity"])


@auth.post("/auth/token", response_model=TokenResponse, responses={429: {"model": Problem}})
async def token(body: TokenRequest, request: Request, service: Service) -> TokenResponse:
    """Exchange an API key for a short-lived token (JWT, EdDSA) that every service verifies with
    the public key alone."""
    access_token, ttl = await service.token(body.api_key, client_address(request))
    return TokenResponse(access_token=access_token, expires_in=ttl)


@auth.get("/.well-known/jwks.json")
async def signing_keys(request: Request) -> dict[str, list[dict[str, str]]]:
    """The public key that verifies participants' tokens, as a JSON Web Key Set."""
    return jwks(request.app.state.settings)


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
        field: Annotated[str | None,
                         Query(max_length=20, description="Taxonomy code; a field includes its sub-fields")] = None,
        region: Annotated[str | None,
                          Query(max_length=20, description="Region code; a province includes its cities")] = None,
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
        query = ItemQuery(principal.subject, principal.is_operator, kind=kind, field=field, region=region,
                          party_type=party_type, status=item_status, mine=mine, terms=tuple(terms))
        start = None if page.cursor is None else await service.search_start(side, query, decode_cursor(page.cursor))
        if isinstance(start, str):
            raise _query_error("cursor", start)
        found, after = await service.list_items(side, query, start=start, limit=page.limit)
        return Page[ItemData](items=found, next_cursor=after)

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


ROUTERS = [participants, operators, auth, item_router(Side.OFFER), item_router(Side.NEED)]
