"""Clock, ids and the domain's errors, which the HTTP layer maps to 403, 404 and 409."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime


def now() -> datetime:
    """The current time at millisecond precision: what MongoDB stores, so a stored document and
    the event snapshot built from it carry exactly the same timestamps."""
    current = datetime.now(UTC)
    return current.replace(microsecond=current.microsecond // 1000 * 1000)


def new_id(prefix: str) -> str:
    """A time-ordered id (milliseconds, then randomness): sorting by id sorts by creation."""
    return f"{prefix}_{time.time_ns() // 1_000_000:012x}{secrets.token_hex(6)}"


class DomainError(Exception):
    """A rule said no; ``detail`` tells the caller why, in English and Chinese."""

    def __init__(self, en: str, zh: str):
        super().__init__(en)
        self.detail = f"{en} ({zh})"


class Forbidden(DomainError):
    pass


class NotFound(DomainError):
    pass


class Conflict(DomainError):
    pass


class Unauthorized(DomainError):
    pass


class RateLimited(DomainError):
    def __init__(self, en: str, zh: str, retry_after: float):
        super().__init__(en, zh)
        self.retry_after = retry_after
