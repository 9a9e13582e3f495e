"""The use cases of the service: each loads a session, lets the domain decide, and stores the
decision with its events in one write (then wakes the outbox relay)."""

from __future__ import annotations

import asyncio
import logging
import secrets
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pymongo.errors import PyMongoError

from shared.auth import Principal
from shared.events.listing import ItemData
from shared.events.matching import AgendaData
from shared.events.sessions import MeetingPreference, Role
from shared.kafka import PermanentError
from shared.outbox import OutboxRelay
from services.events_sessions.domain import agenda as agendas
from services.events_sessions.domain import rules, seats
from shared.domain_errors import Conflict, NotFound
from services.events_sessions.domain.model import MeetingRequest, Registration, Session, SessionSpec
from services.events_sessions.storage import SessionStore

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
CHECK_IN_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: codes are read aloud and typed


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_check_in_code() -> str:
    return "".join(secrets.choice(CHECK_IN_ALPHABET) for _ in range(10))


class SessionService:
    def __init__(self, store: SessionStore, relay: OutboxRelay, clock: Clock = utc_now):
        self.store = store
        self.relay = relay
        self.clock = clock

    async def _mutate(self, session_id: str, decide: Callable[[Session], tuple[Any, seats.Change]]) -> Any:
        result, staged = await self.store.mutate(session_id, decide)
        if staged:
            self.relay.notify(self.store.sessions, session_id, *staged)
        return result

    async def _organised(self, session_id: str, actor: Principal) -> Session:
        session = await self.store.get(session_id)
        rules.ensure_organiser_of(session, actor.subject, is_operator=actor.is_operator)
        return session

    # sessions

    async def create(self, spec: SessionSpec, organiser: Principal) -> Session:
        session, change = seats.new_session(spec, session_id="s_" + uuid.uuid4().hex[:20],
                                            organiser_id=organiser.subject, now=self.clock())
        staged = await self.store.insert(session, change)
        self.relay.notify(self.store.sessions, session.id, *staged)
        return session

    async def update(self, session_id: str, changes: dict[str, Any], actor: Principal) -> Session:
        def decide(session: Session) -> tuple[Session, seats.Change]:
            rules.ensure_organiser_of(session, actor.subject, is_operator=actor.is_operator)
            change = seats.update_session(session, changes, self.clock())
            return seats.apply(session, change), change

        return await self._mutate(session_id, decide)

    async def close(self, session_id: str, actor: Principal) -> Session:
        def decide(session: Session) -> tuple[Session, seats.Change]:
            rules.ensure_organiser_of(session, actor.subject, is_operator=actor.is_operator)
            change = seats.close(session, self.clock())
            return seats.apply(session, change), change

        return await self._mutate(session_id, decide)

    async def close_due_sessions(self) -> int:
        """Close every session whose registration window has ended; the count closed."""
        now = self.clock()
        closed = 0
        for session_id in await self.store.due_for_closing(now):
            try:
                await self._mutate(session_id, lambda s: (None, seats.close(s, now)))
                closed += 1
            except Conflict:
                pass  # closed meanwhile by its organiser
        return closed

    async def run_closer(self, interval_seconds: float) -> None:
        while True:
            try:
                await self.close_due_sessions()
            except PyMongoError as exc:
                log.warning("closing due sessions failed, retrying: %s", exc)
            await asyncio.sleep(interval_seconds)

    # registrations

    async def register(self, session_id: str, registrant: Principal, *, role: Role, listing_ids: list[str],
                       interests: list[str]) -> tuple[Session, Registration]:
        assert registrant.party_type is not None and registrant.participant_id is not None
        participant_id, party_type = registrant.participant_id, registrant.party_type
        await self.store.ensure_exists(session_id)  # 404 before 422 about listings
        rules.validate_registration(participant_id=participant_id, role=role, listing_ids=listing_ids,
                                    interests=interests, listings=await self.store.listings_named(listing_ids))
        registration_id, code = "r_" + uuid.uuid4().hex[:20], new_check_in_code()

        def decide(session: Session) -> tuple[tuple[Session, Registration], seats.Change]:
            registration, change = seats.register(
                session, participant_id=participant_id, party_type=party_type, role=role, listing_ids=listing_ids,
                interests=interests, registration_id=registration_id, check_in_code=code, now=self.clock())
            return (seats.apply(session, change), registration), change

        return await self._mutate(session_id, decide)

    async def my_registration(self, session_id: str, participant_id: str) -> tuple[Session, Registration]:
        session = await self.store.get(session_id)
        registration = session.registration_of(participant_id)
        if registration is None:
            raise NotFound("you have not registered for this session / 您未报名该活动")
        return session, registration

    async def cancel(self, session_id: str, participant_id: str) -> tuple[Session, Registration]:
        def decide(session: Session) -> tuple[tuple[Session, Registration], seats.Change]:
            change = seats.cancel(session, participant_id, self.clock())
            after = seats.apply(session, change)
            cancelled = after.registration_of(participant_id)
            assert cancelled is not None  # a cancelled registration stays on the session
            return (after, cancelled), change

        return await self._mutate(session_id, decide)

    async def registrations(self, session_id: str, actor: Principal) -> Session:
        return await self._organised(session_id, actor)

    async def check_in(self, session_id: str, code: str, actor: Principal) -> tuple[Session, Registration]:
        def decide(session: Session) -> tuple[tuple[Session, Registration], seats.Change]:
            rules.ensure_organiser_of(session, actor.subject, is_operator=actor.is_operator)
            registration, change = seats.check_in(session, code, self.clock())
            return (seats.apply(session, change), registration), change

        return await self._mutate(session_id, decide)

    async def mark_no_shows(self, session_id: str, actor: Principal) -> int:
        def decide(session: Session) -> tuple[int, seats.Change]:
            rules.ensure_organiser_of(session, actor.subject, is_operator=actor.is_operator)
            change = seats.mark_no_shows(session, self.clock())
            return len(change.registrations), change

        return await self._mutate(session_id, decide)

    async def request_meeting(self, session_id: str, requester_id: str, target_id: str,
                              preference: MeetingPreference) -> MeetingRequest:
        def decide(session: Session) -> tuple[MeetingRequest, seats.Change]:
            return seats.request_meeting(session, requester_id=requester_id, target_id=target_id,
                                         preference=preference, now=self.clock())

        return await self._mutate(session_id, decide)

    # agendas

    async def receive_agenda(self, agenda: AgendaData) -> None:
        try:
            await self.store.get(agenda.session_id)
        except NotFound:
            raise PermanentError(f"agenda for unknown session {agenda.session_id!r}") from None
        await self.store.save_agenda(agenda)

    async def receive_listing(self, item: ItemData) -> None:
        await self.store.save_listing(item)

    async def session_agenda(self, session_id: str, actor: Principal) -> AgendaData:
        await self._organised(session_id, actor)
        agenda = await self.store.agenda(session_id)
        if agenda is None:
            raise NotFound("no agenda has been published for this session yet / 洽谈日程尚未发布")
        return agenda

    async def my_meetings(self, participant_id: str) -> list[agendas.MyMeeting]:
        meetings: list[agendas.MyMeeting] = []
        for agenda, session in await self.store.agendas_of(participant_id):
            meetings.extend(agendas.meetings_of(participant_id, agenda, session))
        return sorted(meetings, key=agendas.meeting_order)

    async def my_calendar(self, participant_id: str) -> bytes:
        sessions = await self.store.of_participant(participant_id, after=None, limit=1000)
        return agendas.calendar(participant_id, sessions, await self.my_meetings(participant_id), stamp=self.clock())
