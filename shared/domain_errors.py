"""What a service's domain refuses, independent of HTTP; ``shared.api.errors`` maps each to a status
code (events_sessions and deals share them)."""

from __future__ import annotations

from dataclasses import dataclass


class DomainError(Exception):
    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


class NotFound(DomainError):
    """404."""


class Conflict(DomainError):
    """409: the request is valid but the entity's state does not allow it now."""


class Forbidden(DomainError):
    """403: the caller is known but has no right to this entity."""


@dataclass(frozen=True)
class Problem:
    """One bad field of a request: where it is (``loc`` after ``body``) and what is wrong."""

    loc: tuple[str | int, ...]
    msg: str


class Invalid(DomainError):
    """422 naming every bad field."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(f"{'.'.join(map(str, p.loc))}: {p.msg}" for p in problems))
        self.problems = problems
