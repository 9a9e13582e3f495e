import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.api.pagination import decode_cursor, encode_cursor
from shared.auth import (
    AuthError, Role, UnsafeSettings, check_secrets, issue_token, jwks, key_digest, key_fingerprint, new_api_key,
    new_key_pair, new_secret, verify,
)
from shared.logging import redact
from shared.party_types import PartyType
from shared.settings import DEV_JWT_PRIVATE_KEY, DEV_JWT_PUBLIC_KEY, DEV_OPERATOR_TOKEN, CommonSettings, dev_kafka_password

PRIVATE, PUBLIC = new_key_pair()
OPERATOR_TOKEN = "op-" + "x" * 40


class SignerSettings(CommonSettings):
    signs_tokens = True


KAFKA = {"kafka_security_protocol": "SASL_SSL", "kafka_sasl_username": "listing", "kafka_sasl_password": "k" * 40}


@pytest.fixture
def signer() -> SignerSettings:
    return SignerSettings(environment="production", jwt_private_key=PRIVATE, operator_token=OPERATOR_TOKEN,
                          api_key_pepper="p" * 40, **KAFKA)


@pytest.fixture
def verifier() -> CommonSettings:
    return CommonSettings(environment="production", jwt_public_key=PUBLIC, operator_token=OPERATOR_TOKEN, **KAFKA)


def test_a_token_carries_the_roles_its_issuer_granted(signer, verifier):
    token, ttl = issue_token(signer, "p1", PartyType.GOVERNMENT, frozenset({Role.ORGANISER}))
    principal = verify(verifier, token)
    assert (principal.subject, ttl, principal.roles) == ("p1", 900, {Role.PARTICIPANT, Role.ORGANISER})
    plain = verify(verifier, issue_token(signer, "p2", PartyType.GOVERNMENT, frozenset())[0])
    assert plain.roles == {Role.PARTICIPANT} and not plain.is_organiser
    with pytest.raises(ValueError, match="operator"):
        issue_token(signer, "p3", PartyType.ENTERPRISE, frozenset({Role.OPERATOR}))


def test_a_verifier_cannot_mint(verifier):
    with pytest.raises(UnsafeSettings, match="HARDTECH_JWT_PRIVATE_KEY"):
        issue_token(verifier, "p1", PartyType.ENTERPRISE, frozenset())


def _claims(**changes: object) -> dict[str, object]:
    now = int(time.time())
    return {"iss": "hardtech-listing", "sub": "p1", "pty": "enterprise", "roles": ["participant"],
            "iat": now, "exp": now + 600, **changes}


def _unsigned(claims: dict[str, object]) -> str:
    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


@pytest.mark.parametrize("forgery, reason", [
    (lambda: jwt.encode(_claims(), Ed25519PrivateKey.generate(), algorithm="EdDSA"),
     "invalid token: Signature verification failed"),
    (lambda: _unsigned(_claims()), "invalid token: The specified alg value is not allowed"),
    (lambda: jwt.encode(_claims(), "x" * 64, algorithm="HS256"), "invalid token: The specified alg value is not allowed"),
    (lambda: jwt.encode(_claims(iat=1_000_000, exp=1_000_600), PRIVATE, algorithm="EdDSA"), "token expired"),
    (lambda: jwt.encode(_claims(exp=int(time.time()) + 30 * 365 * 86400), PRIVATE, algorithm="EdDSA"),
     "invalid token: lifetime 946080000 s exceeds the maximum of 3600 s"),
    (lambda: jwt.encode(_claims(roles=["participant", "operator"]), PRIVATE, algorithm="EdDSA"),
     "invalid token: a token never carries the operator role"),
    (lambda: jwt.encode(_claims(pty="emperor"), PRIVATE, algorithm="EdDSA"), "invalid token: bad claims"),
    (lambda: "not.a.jwt", "invalid token: Invalid header padding"),
], ids=["wrong key", "alg none", "HS256 with a secret", "expired", "30 years", "operator claim", "bad party type",
        "garbage"])
def test_forged_tokens_are_refused_with_the_reason(verifier, forgery, reason):
    with pytest.raises(AuthError) as refused:
        verify(verifier, forgery())
    assert refused.value.reason == reason


def test_hs256_signed_with_the_public_key_is_refused(verifier):
    """The classic confusion attack: the public key used as an HMAC secret. PyJWT refuses to use a
    PEM as an HMAC secret at all; the verifier refuses HS256 in any case."""
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=").decode()
    body = base64.urlsafe_b64encode(json.dumps(_claims()).encode()).rstrip(b"=").decode()
    import hashlib
    import hmac
    signature = base64.urlsafe_b64encode(hmac.new(PUBLIC.encode(), f"{header}.{body}".encode(),
                                                  hashlib.sha256).digest()).rstrip(b"=").decode()
    with pytest.raises(AuthError) as refused:
        verify(verifier, f"{header}.{body}.{signature}")
    assert refused.value.reason == "invalid token: The specified alg value is not allowed"


def test_a_token_verified_before_still_expires_on_time(signer, verifier):
    issued = time.time()
    token, ttl = issue_token(signer, "p1", PartyType.ENTERPRISE, frozenset(), now=issued)
    assert verify(verifier, token, now=issued + ttl - 1).subject == "p1"
    with pytest.raises(AuthError, match="expired"):
        verify(verifier, token, now=issued + ttl)


def test_the_operator_token_is_a_static_secret(verifier):
    assert verify(verifier, OPERATOR_TOKEN).is_operator
    with pytest.raises(AuthError):
        verify(verifier, DEV_OPERATOR_TOKEN)


def test_the_key_set_publishes_the_public_key_only(signer):
    (key,) = jwks(signer)["keys"]
    assert set(key) == {"kty", "crv", "alg", "use", "kid", "x"} and (key["kty"], key["crv"]) == ("OKP", "Ed25519")
    token, _ = issue_token(signer, "p1", PartyType.ENTERPRISE, frozenset())
    assert jwt.decode(token, jwt.PyJWK(key).key, algorithms=["EdDSA"], issuer="hardtech-listing")["sub"] == "p1"


def _changed(settings: CommonSettings, changes: dict[str, object]) -> CommonSettings:
    """The settings validated again with ``changes``, as the environment would give them."""
    return type(settings)(**{**{name: getattr(settings, name) for name in type(settings).model_fields}, **changes})


@pytest.mark.parametrize("changes, problem", [
    ({"operator_token": None}, "HARDTECH_OPERATOR_TOKEN is not set"),
    ({"operator_token": DEV_OPERATOR_TOKEN}, "HARDTECH_OPERATOR_TOKEN is the public development value"),
    ({"operator_token": "short-token"}, "HARDTECH_OPERATOR_TOKEN is too weak"),
    ({"jwt_private_key": None}, "HARDTECH_JWT_PRIVATE_KEY is not set"),
    ({"jwt_private_key": DEV_JWT_PRIVATE_KEY}, "HARDTECH_JWT_PRIVATE_KEY is the public development key"),
    ({"jwt_private_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"},
     "HARDTECH_JWT_PRIVATE_KEY is not usable"),
    ({"api_key_pepper": None}, "HARDTECH_API_KEY_PEPPER is not set"),
    ({"api_key_pepper": "pepper"}, "HARDTECH_API_KEY_PEPPER is too weak"),
    ({"jwt_public_key": new_key_pair()[1]}, "HARDTECH_JWT_PUBLIC_KEY does not belong to HARDTECH_JWT_PRIVATE_KEY"),
    ({"jwt_ttl_seconds": 7200}, "HARDTECH_JWT_TTL_SECONDS exceeds HARDTECH_JWT_MAX_LIFETIME_SECONDS"),
])
def test_the_signer_refuses_missing_default_and_weak_secrets(signer, changes, problem):
    with pytest.raises(UnsafeSettings) as refused:
        check_secrets(_changed(signer, changes))
    assert str(refused.value).startswith(problem)


@pytest.mark.parametrize("changes, problem", [
    ({"jwt_public_key": None}, "HARDTECH_JWT_PUBLIC_KEY is not set"),
    ({"jwt_public_key": DEV_JWT_PUBLIC_KEY}, "HARDTECH_JWT_PUBLIC_KEY is the public development key"),
    ({"jwt_public_key": "nonsense"}, "HARDTECH_JWT_PUBLIC_KEY is not usable"),
    ({"kafka_security_protocol": "PLAINTEXT"}, "KAFKA_SECURITY_PROTOCOL is PLAINTEXT: anyone who reaches the broker"),
    ({"kafka_sasl_password": None}, "KAFKA_SASL_PASSWORD is not set"),
    ({"kafka_sasl_password": dev_kafka_password("listing")}, "KAFKA_SASL_PASSWORD is the public development value"),
    ({"kafka_sasl_password": "short"}, "KAFKA_SASL_PASSWORD is too weak"),
])
def test_a_verifier_refuses_a_missing_or_default_public_key(verifier, changes, problem):
    with pytest.raises(UnsafeSettings) as refused:
        check_secrets(_changed(verifier, changes))
    assert str(refused.value).startswith(problem)


def test_local_mode_runs_on_the_development_secrets_and_production_on_generated_ones(signer, verifier):
    local = SignerSettings(environment="local")
    check_secrets(local)
    token, _ = issue_token(local, "p1", PartyType.ENTERPRISE, frozenset())
    assert verify(CommonSettings(environment="local"), token).subject == "p1"
    check_secrets(signer)
    check_secrets(verifier)
    assert len(new_secret()) >= 32


def test_api_keys_are_random_and_stored_as_peppered_digests():
    a, b = new_api_key(), new_api_key()
    assert a != b and a.startswith("htx_")
    digest = key_digest("pepper-one", key_fingerprint(a))
    assert len(digest) == 64 and digest != key_fingerprint(a) != a
    assert key_digest("pepper-two", key_fingerprint(a)) != digest


def test_cursor_round_trip_and_rejection():
    assert decode_cursor(encode_cursor(["abc"])) == ["abc"]
    with pytest.raises(Exception) as caught:
        decode_cursor("!!!")
    assert caught.value.status_code == 422


def test_secrets_are_redacted(signer):
    token, _ = issue_token(signer, "p1", PartyType.ENTERPRISE, frozenset())
    line = redact(f"key {new_api_key()} token {token} Bearer abc.def whsec_abcdefghijkl")
    assert "htx_" not in line and "eyJ" not in line and "whsec_" not in line and "abc.def" not in line
