"""The use cases: load, let the domain decide, store the new state with its event, wake the relay."""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pymongo.errors import DuplicateKeyError, PyMongoError

from services.listing.domain import items, participants, search
from services.listing.domain.common import Conflict, NotFound, RateLimited, Unauthorized, now
from services.listing.domain.items import ItemIn, ItemPatch, ItemQuery
from services.listing.domain.participants import OrganiserDecision, ParticipantIn, ParticipantPatch
from services.listing.domain.ratelimit import SlidingWindowLimiter
from services.listing.domain.search import Position
from services.listing.events import item_event, participant_event
from services.listing.settings import Settings
from services.listing.storage import ListingStore
from shared.api.pagination import issue_scoped_cursor
from shared.auth import Principal, Role, issue_token, key_digest, key_fingerprint, new_api_key
from shared.events.listing import ItemData, ParticipantData
from shared.outbox import OutboxRelay
from shared.party_types import Side

log = logging.getLogger(__name__)

KEY_PREFIX_CHARS = 12  # "htx_" and 8 random characters: enough to group guesses at one key
WRITE_ATTEMPTS = 3
Entity = TypeVar("Entity", ItemData, ParticipantData)


class ListingService:
    def __init__(self, store: ListingStore, relay: OutboxRelay, settings: Settings):
        self._store = store
        self._relay = relay
        self._settings = settings
        window = settings.auth_rate_window_seconds
        self._per_ip = SlidingWindowLimiter(settings.auth_rate_per_ip, window)
        self._per_key = SlidingWindowLimiter(settings.auth_rate_per_key, window)
        signups = settings.signup_rate_window_seconds
        self._signups_per_ip = SlidingWindowLimiter(settings.signup_rate_per_ip, signups)
        self._signups_per_email = SlidingWindowLimiter(settings.signup_rate_per_email, signups)
        pepper = settings.pepper()
        assert pepper is not None, "checked at start (shared.auth.check_secrets)"
        self._pepper = pepper
        # When live items expire (earliest first), kept in memory: every write of an item passes
        # here, so only the start reads them from the store (on FerretDB v1 a scan, not a sweep's).
        self._expiries: list[tuple[datetime, str, Side]] = []

    def _written(self, entity: ItemData | ParticipantData, event: dict[str, Any]) -> None:
        """Hand the relay the event just staged in the entity's document, so it publishes at once."""
        self._relay.notify(self._store.collection_of(entity), entity.id, event)
        if isinstance(entity, ItemData) and entity.status in items.LIVE and entity.expires_at is not None:
            heapq.heappush(self._expiries, (entity.expires_at, entity.id, entity.side))

    async def load_expiries(self) -> None:
        for side in Side:
            for at, item_id in await self._store.expiring(side):
                heapq.heappush(self._expiries, (at, item_id, side))

    # participants and identity

    def digest_of(self, fingerprint: str) -> str:
        return key_digest(self._pepper, fingerprint)

    def _digest(self, api_key: str) -> str:
        return self.digest_of(key_fingerprint(api_key))

    async def register(self, request: ParticipantIn, client: str) -> tuple[ParticipantData, str]:
        limits = [(self._signups_per_ip, f"ip:{client}")]
        if request.email is not None:
            limits.append((self._signups_per_email, f"email:{request.email.casefold()}"))
        _limit(limits, "too many sign-ups; retry later", "注册过于频繁，请稍后重试")
        participant = participants.register(request)
        api_key = new_api_key()
        event = participant_event(participant, "registered")
        await self._store.add_participant(participant, self._digest(api_key), event)
        self._written(participant, event)
        return participant, api_key

    async def rotate_key(self, participant_id: str) -> tuple[str, datetime]:
        """A new API key, shown once; the participant's other keys end after the overlap."""
        api_key = new_api_key()
        at = now()
        old_valid_until = at + timedelta(seconds=self._settings.api_key_overlap_seconds)
        await self.participant(participant_id)
        await self._store.rotate_key(participant_id, self._digest(api_key), at, old_valid_until)
        return api_key, old_valid_until

    async def revoke_keys(self, participant_id: str) -> int:
        await self.participant(participant_id)
        return await self._store.revoke_keys(participant_id)

    async def token(self, api_key: str, client: str) -> tuple[str, int]:
        _limit([(self._per_ip, f"ip:{client}"), (self._per_key, f"key:{api_key[:KEY_PREFIX_CHARS]}")],
               "too many token requests; retry later", "令牌请求过于频繁，请稍后重试")
        owner = await self._store.key_owner(self._digest(api_key), now())
        participant = None if owner is None else await self._store.participant(owner)
        if participant is None:
            raise Unauthorized("unknown or revoked API key", "API 密钥无效或已吊销")
        # The roles are what this service's records say now, never what a caller claims.
        roles = frozenset({Role.ORGANISER}) if participant.organiser else frozenset()
        return issue_token(self._settings, participant.id, participant.party_type, roles)

    async def decide_organiser(self, participant_id: str, decision: OrganiserDecision) -> ParticipantData:
        async def attempt() -> tuple[ParticipantData, dict[str, Any]] | None:
            updated = participants.decide_organiser(await self.participant(participant_id), decision)
            event = participant_event(updated, "organiser_granted" if decision.granted else "organiser_revoked")
            return (updated, event) if await self._store.replace_participant(updated, event) else None

        return await self._write(attempt)

    async def participant(self, participant_id: str) -> ParticipantData:
        participant = await self._store.participant(participant_id)
        if participant is None:
            raise NotFound(f"no participant {participant_id}", f"参与方 {participant_id} 不存在")
        return participant

    async def participants_by_id(self, participant_ids: list[str]) -> list[ParticipantData]:
        """Participants by id in the order asked for, those that exist."""
        return await self._store.participants_by_id(participant_ids)

    async def update_participant(self, participant_id: str, patch: ParticipantPatch) -> ParticipantData:
        async def attempt() -> tuple[ParticipantData, dict[str, Any]] | None:
            updated = participants.apply_patch(await self.participant(participant_id), patch)
            event = participant_event(updated, "updated")
            return (updated, event) if await self._store.replace_participant(updated, event) else None

        return await self._write(attempt)

    # listings and demands

    async def create_item(self, side: Side, principal: Principal, request: ItemIn,
                          item_id: str | None = None) -> ItemData:
        """Create an offer or need; with ``item_id`` reserved by an idempotency key, a retry after
        a crash finds the item its first attempt wrote and answers with it."""
        assert principal.participant_id is not None and principal.party_type is not None
        item = items.create(side, principal.participant_id, principal.party_type, request, now(), item_id)
        event = item_event(item, "created")
        try:
            await self._store.add_item(item, event)
        except DuplicateKeyError:
            existing = await self._store.item(side, item.id)
            if existing is None or existing.owner_id != principal.participant_id:
                raise
            return existing
        self._written(item, event)
        return item

    async def item(self, side: Side, item_id: str, principal: Principal) -> ItemData:
        item = await self._store.item(side, item_id)
        if item is None or not items.visible_to(item, principal.subject, principal.is_operator):
            en, zh = items.NOUN[side]
            raise NotFound(f"no {en} {item_id}", f"{zh} {item_id} 不存在")
        return item

    async def update_item(self, side: Side, item_id: str, principal: Principal, patch: ItemPatch) -> ItemData:
        return await self._change_item(side, item_id, principal, "updated",
                                       lambda current: items.apply_patch(current, patch, now()))

    async def withdraw_item(self, side: Side, item_id: str, principal: Principal) -> ItemData:
        return await self._change_item(side, item_id, principal, "withdrawn",
                                       lambda current: items.withdraw(current, now()))

    async def owned_counts(self, participant_id: str) -> dict[Side, int]:
        return await self._store.owned_counts(participant_id)

    async def search_start(self, side: Side, query: ItemQuery, cursor: list[Any]) -> Position | str:
        """Where a page of the search starts, or why the cursor is refused."""
        return search.parse_cursor(cursor, subject=query.subject, search=search.search_code(side, query),
                                   newest_bucket=await self._store.search.newest_bucket(side))

    async def list_items(self, side: Side, query: ItemQuery, *, start: Position | None,
                         limit: int) -> tuple[list[ItemData], str | None]:
        """A page of the search and the next page's cursor (None on the last page)."""
        found, after = await self._store.find_items(side, query, start=start, limit=limit)
        cursor = None if after is None else issue_scoped_cursor(query.subject, search.search_code(side, query),
                                                                after.bucket, after.below)
        return found, cursor

    async def _change_item(self, side: Side, item_id: str, principal: Principal, verb: str,
                           change: Callable[[ItemData], ItemData]) -> ItemData:
        async def attempt() -> tuple[ItemData, dict[str, Any]] | None:
            current = await self.item(side, item_id, principal)
            items.require_owner(current, principal.participant_id)
            updated = change(current)
            event = item_event(updated, verb)
            return (updated, event) if await self._store.replace_item(updated, event) else None

        return await self._write(attempt)

    async def _write(self, attempt: Callable[[], Awaitable[tuple[Entity, dict[str, Any]] | None]]) -> Entity:
        """Run a versioned read-change-write, again when a concurrent writer got there first."""
        for _ in range(WRITE_ATTEMPTS):
            written = await attempt()
            if written is not None:
                self._written(*written)
                return written[0]
        raise Conflict("changed concurrently by another request; retry", "已被其他请求同时修改，请重试")

    # expiry

    async def expire_due(self, at: datetime, batch: int = 200) -> int:
        """Mark draft and open items past their expiry as expired (at most ``batch``, each read by
        ``_id``); return how many. An item changed since it was scheduled is checked again: its
        write scheduled its new expiry."""
        expired = 0
        while self._expiries and self._expiries[0][0] <= at and batch > 0:
            due = heapq.heappop(self._expiries)
            batch -= 1
            try:
                item = await self._store.item(due[2], due[1])
                if item is None or not items.is_due(item, at):
                    continue
                updated = items.expire(item, at)
                event = item_event(updated, "expired")
                if await self._store.replace_item(updated, event):
                    expired += 1
                    self._written(updated, event)
            except BaseException:
                heapq.heappush(self._expiries, due)  # the next sweep tries it again
                raise
        return expired

    async def run_expiry(self) -> None:
        while True:
            try:
                count = await self.expire_due(now())
                if count:
                    log.info("expired %d items", count)
            except (PyMongoError, OSError):  # a store outage must not end the sweeps; the next one retries
                log.exception("expiry sweep failed")
            await asyncio.sleep(self._settings.expiry_interval_seconds)


def _limit(limits: list[tuple[SlidingWindowLimiter, str]], en: str, zh: str) -> None:
    for limiter, key in limits:
        wait = limiter.acquire(key)
        if wait:
            raise RateLimited(en, zh, wait)
