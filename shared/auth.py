"""Identity shared by every service.

Participants' tokens are JWTs signed with Ed25519 (EdDSA) by the listing service alone; every other
service holds only the public key, so none of them can mint a token. A token's roles are what the
listing service's own records said when it issued the token; an operator is never a token, only
the static operator secret. API keys are stored as HMAC digests under a server-side pepper."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from shared.party_types import PartyType
from shared.settings import (
    DEV_API_KEY_PEPPER,
    DEV_JWT_PRIVATE_KEY,
    DEV_JWT_PUBLIC_KEY,
    DEV_OPERATOR_TOKEN,
    CommonSettings,
    dev_kafka_password,
)

ALGORITHM = "EdDSA"
API_KEY_PREFIX = "htx_"
MIN_SECRET_CHARS = 32


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


class UnsafeSettings(Exception):
    """A secret is missing, a public development value, or too weak; the message names it."""


# keys

@lru_cache(maxsize=8)
def _private_key(pem: str) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("not an Ed25519 private key")
    return key


@lru_cache(maxsize=8)
def _public_key(pem: str) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem.encode())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def public_pem(private_pem: str) -> str:
    return _private_key(private_pem).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def new_key_pair() -> tuple[str, str]:
    """A fresh Ed25519 key pair in PEM: (private, public)."""
    private = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    return private, public_pem(private)


def _verification_pem(settings: CommonSettings) -> str | None:
    configured = settings.verification_key()
    if configured is None and settings.jwt_private_key is not None:
        return public_pem(settings.jwt_private_key.get_secret_value())
    return configured


def jwks(settings: CommonSettings) -> dict[str, list[dict[str, str]]]:
    """The verification key as a JSON Web Key Set (RFC 8037: OKP, Ed25519)."""
    pem = _verification_pem(settings)
    if pem is None:
        return {"keys": []}
    raw = _public_key(pem).public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    x = jwt.utils.base64url_encode(raw).decode()
    return {"keys": [{"kty": "OKP", "crv": "Ed25519", "alg": ALGORITHM, "use": "sig", "kid": _key_id(raw), "x": x}]}


def _key_id(raw_public: bytes) -> str:
    return hashlib.sha256(raw_public).hexdigest()[:16]


# secrets that fail closed

def check_secrets(settings: CommonSettings) -> None:
    """Raise UnsafeSettings naming the first missing, default or weak secret; nothing in local mode."""
    if settings.local:
        return
    _check_secret("HARDTECH_OPERATOR_TOKEN", settings.operator_secret(), DEV_OPERATOR_TOKEN)
    if settings.signs_tokens:
        private = _check_key("HARDTECH_JWT_PRIVATE_KEY", settings.signing_key(), DEV_JWT_PRIVATE_KEY, _private_key,
                             "an Ed25519 private key in PEM; `hardtech secrets` makes one")
        _check_secret("HARDTECH_API_KEY_PEPPER", settings.pepper(), DEV_API_KEY_PEPPER)
    public = _check_key("HARDTECH_JWT_PUBLIC_KEY", _verification_pem(settings), DEV_JWT_PUBLIC_KEY, _public_key,
                        "the listing service's Ed25519 public key in PEM")
    if settings.signs_tokens and settings.jwt_public_key is not None and public_pem(private) != _public_key_pem(public):
        raise UnsafeSettings("HARDTECH_JWT_PUBLIC_KEY does not belong to HARDTECH_JWT_PRIVATE_KEY")
    if settings.jwt_ttl_seconds > settings.jwt_max_lifetime_seconds:
        raise UnsafeSettings("HARDTECH_JWT_TTL_SECONDS exceeds HARDTECH_JWT_MAX_LIFETIME_SECONDS")
    if settings.uses_kafka:
        _check_kafka(settings)


def _check_kafka(settings: CommonSettings) -> None:
    """Kafka only with a principal of its own: SASL, and a strong password that is not public."""
    if not settings.kafka_sasl:
        raise UnsafeSettings("KAFKA_SECURITY_PROTOCOL is PLAINTEXT: anyone who reaches the broker could read "
                             "and write every topic (SASL_PLAINTEXT or SASL_SSL)")
    _check_secret("KAFKA_SASL_PASSWORD", settings.kafka_password(), dev_kafka_password(settings.kafka_principal()))


def _check_key(variable: str, pem: str | None, development: str, load: Callable[[str], object], what: str) -> str:
    if pem is None:
        raise UnsafeSettings(f"{variable} is not set ({what})")
    if pem.strip() == development.strip():
        raise UnsafeSettings(f"{variable} is the public development key")
    try:
        load(pem)
    except ValueError as exc:
        raise UnsafeSettings(f"{variable} is not usable: {exc}") from None
    return pem


def _public_key_pem(pem: str) -> str:
    return _public_key(pem).public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _check_secret(variable: str, value: str | None, development: str) -> None:
    if value is None or not value.strip():
        raise UnsafeSettings(f"{variable} is not set")
    if value == development:
        raise UnsafeSettings(f"{variable} is the public development value")
    if len(value) < MIN_SECRET_CHARS:
        raise UnsafeSettings(f"{variable} is too weak: at least {MIN_SECRET_CHARS} random characters "
                             "(`hardtech secrets` makes one)")


# tokens

def issue_token(settings: CommonSettings, participant_id: str, party_type: PartyType,
                roles: frozenset[Role] = frozenset(), *, now: float | None = None) -> tuple[str, int]:
    """A token for a participant with the roles the caller's records grant; only the listing
    service holds the key."""
    private = settings.signing_key()
    if private is None:
        raise UnsafeSettings("HARDTECH_JWT_PRIVATE_KEY is not set: this process cannot issue tokens")
    if Role.OPERATOR in roles:
        raise ValueError("the operator role is never carried by a token")
    issued = int(time.time() if now is None else now)
    ttl = settings.jwt_ttl_seconds
    claims = {
        "iss": settings.jwt_issuer,
        "sub": participant_id,
        "pty": party_type.value,
        "roles": sorted(r.value for r in roles | {Role.PARTICIPANT}),
        "iat": issued,
        "exp": issued + ttl,
    }
    return jwt.encode(claims, _private_key(private), algorithm=ALGORITHM), ttl


def verify(settings: CommonSettings, bearer: str, *, now: float | None = None) -> Principal:
    """Turn a bearer credential into a principal, or raise AuthError saying why not."""
    operator = settings.operator_secret()
    if operator is not None and hmac.compare_digest(bearer.encode(), operator.encode()):
        return OPERATOR
    public = _verification_pem(settings)
    if public is None:
        raise AuthError("this service has no token verification key configured")
    principal, expires = _verified(bearer, public, settings.jwt_issuer, settings.jwt_max_lifetime_seconds)
    if (time.time() if now is None else now) >= expires:  # PyJWT's rule: expired from ``exp`` on
        raise AuthError("token expired")
    return principal


# A client sends the same token with every request until it expires: its signature and claims are
# checked once (a fifth of a listing POST's work in the service), its expiry at every use. Only
# good tokens are kept, so a flood of bad ones evicts them but never grows the cache.
@lru_cache(maxsize=4096)
def _verified(bearer: str, public: str, issuer: str, max_lifetime: int) -> tuple[Principal, int]:
    """The principal a token names and its expiry (seconds since the epoch), once its signature
    and claims are checked."""
    try:
        claims = jwt.decode(bearer, _public_key(public), algorithms=[ALGORITHM], issuer=issuer,
                            options={"require": ["exp", "iat", "sub", "iss"], "verify_exp": False})
    except jwt.InvalidTokenError as exc:
        raise AuthError(f"invalid token: {exc}") from None
    try:
        party_type = PartyType(claims["pty"])
        roles = frozenset(Role(r) for r in claims["roles"])
        issued, expires = int(claims["iat"]), int(claims["exp"])
    except (KeyError, ValueError, TypeError):
        raise AuthError("invalid token: bad claims") from None
    if Role.OPERATOR in roles:
        raise AuthError("invalid token: a token never carries the operator role")
    if expires - issued > max_lifetime:
        raise AuthError(f"invalid token: lifetime {expires - issued} s exceeds the maximum of {max_lifetime} s")
    return Principal(claims["sub"], roles, party_type), expires


# API keys

def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def key_fingerprint(api_key: str) -> str:
    """SHA-256 of the key: what earlier versions stored, and the input of its digest."""
    return hashlib.sha256(api_key.encode()).hexdigest()


def key_digest(pepper: str, fingerprint: str) -> str:
    """The stored form of an API key: an HMAC under the server's pepper, so a copy of the database
    alone cannot test guesses."""
    return hmac.new(pepper.encode(), fingerprint.encode(), hashlib.sha256).hexdigest()


def new_secret() -> str:
    return secrets.token_urlsafe(48)
