import time

import pytest

from shared.api.pagination import decode_cursor, encode_cursor
from shared.auth import AuthError, Role, hash_api_key, issue_token, new_api_key, verify
from shared.logging import redact
from shared.party_types import PartyType
from shared.settings import CommonSettings


@pytest.fixture
def settings() -> CommonSettings:
    return CommonSettings(jwt_secret="s" * 40, operator_token="op-token-123")


def test_token_round_trip_and_roles(settings):
    token, ttl = issue_token(settings, "p1", PartyType.GOVERNMENT)
    principal = verify(settings, token)
    assert principal.subject == "p1" and ttl == settings.jwt_ttl_seconds
    assert principal.roles == {Role.PARTICIPANT, Role.ORGANISER}
    assert not principal.is_operator
    assert not verify(settings, issue_token(settings, "p2", PartyType.UNIVERSITY)[0]).is_organiser


def test_expired_forged_and_operator_tokens(settings):
    expired, _ = issue_token(settings, "p1", PartyType.ENTERPRISE, now=1_000_000)
    with pytest.raises(AuthError, match="expired"):
        verify(settings, expired)
    forged, _ = issue_token(CommonSettings(jwt_secret="x" * 40), "p1", PartyType.ENTERPRISE)
    with pytest.raises(AuthError, match="invalid token"):
        verify(settings, forged)
    assert verify(settings, "op-token-123").is_operator


def test_a_token_verified_before_still_expires_on_time(settings):
    issued = time.time()
    token, ttl = issue_token(settings, "p1", PartyType.ENTERPRISE, now=issued)
    assert verify(settings, token, now=issued + ttl - 1).subject == "p1"
    with pytest.raises(AuthError, match="expired"):
        verify(settings, token, now=issued + ttl)
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    with pytest.raises(AuthError, match="invalid token"):
        verify(settings, tampered, now=issued)


def test_api_keys_are_random_and_hashed():
    a, b = new_api_key(), new_api_key()
    assert a != b and a.startswith("htx_")
    assert hash_api_key(a) != a and len(hash_api_key(a)) == 64


def test_cursor_round_trip_and_rejection():
    assert decode_cursor(encode_cursor(["abc"])) == ["abc"]
    with pytest.raises(Exception) as caught:
        decode_cursor("!!!")
    assert caught.value.status_code == 422


def test_secrets_are_redacted():
    token, _ = issue_token(CommonSettings(), "p1", PartyType.ENTERPRISE)
    line = redact(f"key {new_api_key()} token {token} Bearer abc.def whsec_abcdefghijkl")
    assert "htx_" not in line and "eyJ" not in line and "whsec_" not in line and "abc.def" not in line
