"""Identity shared by every service: short-lived signed tokens (JWT, HS256) issued by the listing
service and verified locally by every service from configuration, and the operator's token."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

import jwt

from shared.party_types import ORGANISER_TYPES, PartyType
from shared.settings import CommonSettings

ALGORITHM = "HS256"
API_KEY_PREFIX = "htx_"


class Role(StrEnum):
    PARTICIPANT = "participant"
    ORGANISER = "organiser"
    OPERATOR = "operator"


@dataclass(frozen=True)
class Principal:
    subject: str  # participant id, or "operator"
    roles: frozenset[Role]
    party_type: PartyType | None = None

    @property
    def is_operator(self) -> bool:
        return Role.OPERATOR in self.roles

    @property
    def is_organiser(self) -> bool:
        return Role.ORGANISER in self.roles or self.is_operator

    @property
    def participant_id(self) -> str | None:
        return None if self.is_operator else self.subject


OPERATOR = Principal("operator", frozenset({Role.OPERATOR}))


class AuthError(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def roles_for(party_type: PartyType) -> frozenset[Role]:
    roles = {Role.PARTICIPANT}
    if party_type in ORGANISER_TYPES:
        roles.add(Role.ORGANISER)
    return frozenset(roles)


def issue_token(settings: CommonSettings, participant_id: str, party_type: PartyType,
                *, now: float | None = None) -> tuple[str, int]:
    now = time.time() if now is None else now
    ttl = settings.jwt_ttl_seconds
    claims = {
        "iss": settings.jwt_issuer,
        "sub": participant_id,
        "pty": party_type.value,
        "roles": sorted(r.value for r in roles_for(party_type)),
        "iat": int(now),
        "exp": int(now) + ttl,
    }
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm=ALGORITHM), ttl


def verify(settings: CommonSettings, bearer: str, *, now: float | None = None) -> Principal:
    """Turn a bearer credential into a principal, or raise AuthError saying why not."""
    if hmac.compare_digest(bearer.encode(), settings.operator_token.get_secret_value().encode()):
        return OPERATOR
    principal, expires = _verified(bearer, settings.jwt_secret.get_secret_value(), settings.jwt_issuer)
    if (time.time() if now is None else now) >= expires:  # PyJWT's rule: expired from ``exp`` on
        raise AuthError("token expired")
    return principal


# A client sends the same token with every request until it expires: its signature and claims are
# checked once (a fifth of a listing POST's work in the service), its expiry at every use. Only
# good tokens are kept, so a flood of bad ones evicts them but never grows the cache.
@lru_cache(maxsize=4096)
def _verified(bearer: str, secret: str, issuer: str) -> tuple[Principal, int]:
    """The principal a token names and its expiry (seconds since the epoch), once its signature
    and claims are checked."""
    try:
        claims = jwt.decode(bearer, secret, algorithms=[ALGORITHM], issuer=issuer,
                            options={"require": ["exp", "iat", "sub", "iss"], "verify_exp": False})
    except jwt.InvalidTokenError as exc:
        raise AuthError(f"invalid token: {exc}") from None
    try:
        party_type = PartyType(claims["pty"])
        roles = frozenset(Role(r) for r in claims["roles"]) - {Role.OPERATOR}
        expires = int(claims["exp"])
    except (KeyError, ValueError, TypeError):
        raise AuthError("invalid token: bad claims") from None
    return Principal(claims["sub"], roles, party_type), expires


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(api_key: str) -> str:
    """API keys are 256-bit random, so a plain SHA-256 is a safe one-way store for them."""
    return hashlib.sha256(api_key.encode()).hexdigest()
