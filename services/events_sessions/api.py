"""Thin HTTP routers: parse, call the use case, shape the answer. Errors from the domain become
404/409/403/422 with a ``detail`` that says why (see ``domain_error``)."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

import segno
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import AfterValidator

from shared import taxonomy
from shared.api.idempotency import IdempotencyKey, answer_once
from shared.api.pagination import Page, PageParams, decode_cursor, encode_cursor, page_params
from shared.api.security import Organiser, Participant
from shared.events.matching import AgendaData
from shared.events.sessions import RegistrationStatus
from services.events_sessions.domain.agenda import MyMeeting, meeting_order
from shared.domain_errors import Conflict
from services.events_sessions.domain.model import SEATED, SessionSpec, in_range
from services.events_sessions.handlers import SessionService
from services.events_sessions.schemas import (
    CheckInIn,
    MeetingRequestIn,
    MeetingRequestOut,
    NoShowsOut,
    RegistrationIn,
    RegistrationOut,
    SessionChanges,
    SessionOut,
)

SessionId = Annotated[str, Path(min_length=1, max_length=64)]
QueryMoment = Annotated[datetime, AfterValidator(in_range)]
Pages = Annotated[PageParams, Depends(page_params)]
ERRORS: dict[int | str, dict[str, Any]] = {404: {"description": "Unknown session"},
                                          409: {"description": "Not allowed in the session's state"}}

sessions = APIRouter(prefix="/sessions", tags=["sessions"], responses=ERRORS)
me = APIRouter(prefix="/me", tags=["me"])


def service(request: Request) -> SessionService:
    return request.app.state.sessions


K = TypeVar("K")


def _cursor(cursor: str | None, parse: Callable[..., K]) -> K | None:
    """The cursor's key parsed by ``parse(*key)``; a cursor of another shape is a 422."""
    key = decode_cursor(cursor)
    if key is None:
        return None
    try:
        return parse(*key)
    except (TypeError, ValueError):
        raise HTTPException(422, detail=[{"loc": ["query", "cursor"], "msg": "invalid cursor",
                                          "type": "value_error"}]) from None


def _session_key(starts_at: str, session_id: str) -> tuple[datetime, str]:
    return datetime.fromisoformat(starts_at), str(session_id)


def _int_key(value: int) -> int:
    if not isinstance(value, int):
        raise TypeError(value)
    return value


def _meeting_key(starts_at: str, session_id: str, slot: int) -> tuple[str, str, int]:
    return datetime.fromisoformat(starts_at).isoformat(), str(session_id), _int_key(slot)


# sessions


@sessions.post("", status_code=status.HTTP_201_CREATED, response_model=SessionOut)
async def create_session(spec: SessionSpec, organiser: Organiser, request: Request,
                         idempotency_key: IdempotencyKey = None) -> JSONResponse:
    svc = service(request)

    async def produce() -> SessionOut:
        return SessionOut.of(await svc.create(spec, organiser), svc.clock())

    return await answer_once(request, idempotency_key, f"{organiser.subject}:POST /sessions", 201, produce)


@sessions.get("", response_model=Page[SessionOut])
async def list_sessions(
    request: Request, pages: Pages,
    field: Annotated[str | None,
                     Query(max_length=20, description="Field code; a first-level code matches its sub-fields")] = None,
    city: Annotated[str | None, Query(max_length=20, description="City code such as CN-SC.CD")] = None,
    starts_from: Annotated[QueryMoment | None, Query(description="Sessions starting at or after")] = None,
    starts_to: Annotated[QueryMoment | None, Query(description="Sessions starting before")] = None,
    open: Annotated[bool | None, Query(description="Only sessions accepting registrations now (or not)")] = None,
    organiser: Annotated[str | None, Query(max_length=100, description="Only this organiser's sessions "
                                                                       "(a participant id)")] = None,
) -> Page[SessionOut]:
    svc = service(request)
    now = svc.clock()
    query: dict[str, Any] = {}
    if field is not None:
        query["fields"] = {"$in": [field, *(f.code for f in taxonomy.children(field))]}
    if city is not None:
        query["city"] = city
    if organiser is not None:
        query["organiser_id"] = organiser
    if starts_from is not None or starts_to is not None:
        query["starts_at"] = {**({"$gte": starts_from} if starts_from else {}),
                              **({"$lt": starts_to} if starts_to else {})}
    if open is True:
        query.update({"registration_open": True, "registration_opens_at": {"$lte": now},
                      "registration_closes_at": {"$gt": now}})
    elif open is False:
        query["$or"] = [{"registration_open": False}, {"registration_opens_at": {"$gt": now}},
                        {"registration_closes_at": {"$lte": now}}]
    after = _cursor(pages.cursor, _session_key)
    documents = await svc.store.page(query, after=after, limit=pages.limit + 1)
    items = [SessionOut.of_summary(d, now) for d in documents[:pages.limit]]
    more = len(documents) > pages.limit
    return Page(items=items,
                next_cursor=encode_cursor([items[-1].starts_at.isoformat(), items[-1].id]) if more else None)


@sessions.get("/{session_id}", response_model=SessionOut)
async def get_session(session_id: SessionId, request: Request) -> SessionOut:
    svc = service(request)
    return SessionOut.of_summary(await svc.store.summary(session_id), svc.clock())


@sessions.patch("/{session_id}", response_model=SessionOut, responses={403: {"description": "Not its organiser"}})
async def update_session(session_id: SessionId, changes: SessionChanges, organiser: Organiser,
                         request: Request) -> SessionOut:
    svc = service(request)
    updated = await svc.update(session_id, changes.model_dump(exclude_unset=True), organiser)
    return SessionOut.of(updated, svc.clock())


@sessions.post("/{session_id}/close", response_model=SessionOut)
async def close_registration(session_id: SessionId, organiser: Organiser, request: Request) -> SessionOut:
    svc = service(request)
    return SessionOut.of(await svc.close(session_id, organiser), svc.clock())


# registrations


@sessions.post("/{session_id}/registrations", status_code=status.HTTP_201_CREATED, response_model=RegistrationOut)
async def register(session_id: SessionId, body: RegistrationIn, participant: Participant,
                   request: Request) -> RegistrationOut:
    session, registration = await service(request).register(
        session_id, participant, role=body.role, listing_ids=body.listing_ids, interests=body.interests)
    return RegistrationOut.of(session, registration, with_code=True)


@sessions.get("/{session_id}/registrations", response_model=Page[RegistrationOut])
async def list_registrations(
    session_id: SessionId, organiser: Organiser, request: Request, pages: Pages,
    status_: Annotated[RegistrationStatus | None, Query(alias="status")] = None,
) -> Page[RegistrationOut]:
    session = await service(request).registrations(session_id, organiser)
    after = _cursor(pages.cursor, _int_key) or 0
    chosen = [r for r in session.in_order() if r.sequence > after and (status_ is None or r.status is status_)]
    page = chosen[:pages.limit]
    more = len(chosen) > pages.limit
    return Page(items=[RegistrationOut.of(session, r, with_code=False) for r in page],
                next_cursor=encode_cursor([page[-1].sequence]) if more else None)


@sessions.get("/{session_id}/registrations/me", response_model=RegistrationOut)
async def my_registration(session_id: SessionId, participant: Participant, request: Request) -> RegistrationOut:
    session, registration = await service(request).my_registration(session_id, participant.subject)
    return RegistrationOut.of(session, registration, with_code=True)


@sessions.get("/{session_id}/registrations/me/check-in.{image_format}",
              responses={200: {"content": {"image/png": {}, "image/svg+xml": {}}}}, response_class=Response)
async def my_check_in_code(session_id: SessionId, participant: Participant, request: Request,
                           image_format: Annotated[str, Path(pattern="^(png|svg)$")]) -> Response:
    """The check-in code as a QR image, for the organiser to scan at the door."""
    _, registration = await service(request).my_registration(session_id, participant.subject)
    if registration.status not in SEATED:
        raise Conflict(f"a registration that is {registration.status.value} has no seat to check in to "
                       "/ 无座位，不能签到")
    buffer = io.BytesIO()
    segno.make_qr(registration.check_in_code, error="m").save(buffer, kind=image_format, scale=8, border=2)
    return Response(buffer.getvalue(), media_type="image/png" if image_format == "png" else "image/svg+xml")


@sessions.delete("/{session_id}/registrations/me", response_model=RegistrationOut)
async def cancel_registration(session_id: SessionId, participant: Participant, request: Request) -> RegistrationOut:
    session, registration = await service(request).cancel(session_id, participant.subject)
    return RegistrationOut.of(session, registration, with_code=False)


@sessions.post("/{session_id}/check-ins", response_model=RegistrationOut)
async def check_in(session_id: SessionId, body: CheckInIn, organiser: Organiser, request: Request) -> RegistrationOut:
    session, registration = await service(request).check_in(session_id, body.code.strip().upper(), organiser)
    return RegistrationOut.of(session, registration, with_code=False)


@sessions.post("/{session_id}/no-shows", response_model=NoShowsOut)
async def mark_no_shows(session_id: SessionId, organiser: Organiser, request: Request) -> NoShowsOut:
    return NoShowsOut(marked=await service(request).mark_no_shows(session_id, organiser))


# meetings and agendas


@sessions.post("/{session_id}/meeting-requests", status_code=status.HTTP_201_CREATED, response_model=MeetingRequestOut)
async def request_meeting(session_id: SessionId, body: MeetingRequestIn, participant: Participant,
                          request: Request) -> MeetingRequestOut:
    made = await service(request).request_meeting(session_id, participant.subject, body.target_id, body.preference)
    return MeetingRequestOut(session_id=session_id, **made.model_dump())


@sessions.get("/{session_id}/agenda", response_model=AgendaData)
async def session_agenda(session_id: SessionId, organiser: Organiser, request: Request) -> AgendaData:
    return await service(request).session_agenda(session_id, organiser)


@me.get("/registrations", response_model=Page[RegistrationOut])
async def my_registrations(participant: Participant, request: Request, pages: Pages) -> Page[RegistrationOut]:
    after = _cursor(pages.cursor, str)
    found = await service(request).store.of_participant(participant.subject, after=after,
                                                         limit=pages.limit + 1)
    items = [RegistrationOut.of(s, registration, with_code=True) for s in found[:pages.limit]
             if (registration := s.registration_of(participant.subject)) is not None]
    return Page(items=items,
                next_cursor=encode_cursor([found[pages.limit - 1].id]) if len(found) > pages.limit else None)


@me.get("/agenda", response_model=Page[MyMeeting])
async def my_agenda(participant: Participant, request: Request, pages: Pages) -> Page[MyMeeting]:
    """The participant's 1:1 meetings in every session with a published agenda, by time."""
    after = _cursor(pages.cursor, _meeting_key)
    meetings = await service(request).my_meetings(participant.subject)
    if after is not None:
        meetings = [m for m in meetings if meeting_order(m) > after]
    page = meetings[:pages.limit]
    more = len(meetings) > pages.limit
    return Page(items=page, next_cursor=encode_cursor(list(meeting_order(page[-1]))) if more else None)


@me.get("/agenda.ics", response_class=Response, responses={200: {"content": {"text/calendar": {}}}})
async def my_calendar(participant: Participant, request: Request) -> Response:
    """Sessions the participant holds a seat in and their meetings, as an iCalendar file."""
    body = await service(request).my_calendar(participant.subject)
    return Response(body, media_type="text/calendar; charset=utf-8",
                    headers={"content-disposition": 'attachment; filename="hardtech-agenda.ics"'})
