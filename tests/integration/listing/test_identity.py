"""Identity on the real broker and store: organisers verified by an operator, API keys shown once,
rotated and revoked, sign-ups limited per address and per e-mail, and tokens that only the
listing service can mint."""

from __future__ import annotations

import jwt
import pytest

from services.events_sessions.app import create_app as create_events_sessions
from services.events_sessions.settings import Settings as EventsSessionsSettings
from services.listing.app import create_app
from shared import topics
from shared.auth import new_key_pair, new_secret
from shared.events import decode
from tests.integration.listing.conftest import (
    events_of, listing_settings, operator_headers, participant_body, register,
)
from tests.support import production_principal, running

pytestmark = pytest.mark.integration


def roles_of(headers: dict[str, str]) -> list[str]:
    return jwt.decode(headers["Authorization"].split()[1], options={"verify_signature": False})["roles"]


async def fresh_headers(client, api_key: str) -> dict[str, str]:
    token = await client.post("/auth/token", json={"api_key": api_key})
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


async def test_an_operator_grants_and_revokes_the_organiser_role_with_a_reason(client, settings):
    government = await register(client, "government")
    assert roles_of(government.headers) == ["participant"]  # a government starts as an ordinary participant
    operator = operator_headers(settings)
    url = f"/participants/{government.id}/organiser"

    by_participant = await client.put(url, json={"granted": True, "reason": "self-service"},
                                      headers=government.headers)
    assert (by_participant.status_code, by_participant.json()["detail"]) == (403, "operator token required (需要运维令牌)")
    no_reason = await client.put(url, json={"granted": True}, headers=operator)
    assert no_reason.status_code == 422 and no_reason.json()["detail"][0]["loc"] == ["body", "reason"]

    granted = await client.put(url, json={"granted": True, "reason": "成都高新区管委会, verified by phone"},
                               headers=operator)
    assert granted.status_code == 200, granted.text
    assert (granted.json()["organiser"], granted.json()["version"]) == (True, 2)
    assert roles_of(government.headers) == ["participant"]  # a token keeps the roles it was issued with
    assert roles_of(await fresh_headers(client, government.api_key)) == ["organiser", "participant"]
    again = await client.put(url, json={"granted": True, "reason": "twice"}, headers=operator)
    assert again.status_code == 409 and "already an organiser" in again.json()["detail"]

    revoked = await client.put(url, json={"granted": False, "reason": "left the zone's committee"}, headers=operator)
    assert (revoked.status_code, revoked.json()["organiser"]) == (200, False)
    assert roles_of(await fresh_headers(client, government.api_key)) == ["participant"]

    records = await events_of(settings, topics.PARTICIPANTS, government.id, count=3)
    events = [decode(r.value) for r in records]
    assert [e.type for e in events] == ["participant.registered.v1", "participant.organiser_granted.v1",
                                        "participant.organiser_revoked.v1"]
    assert [(e.data.organiser, e.data.organiser_reason) for e in events] == [
        (False, None), (True, "成都高新区管委会, verified by phone"), (False, "left the zone's committee")]

    enterprise = await register(client, "enterprise")
    refused = await client.put(f"/participants/{enterprise.id}/organiser",
                               json={"granted": True, "reason": "asked nicely"}, headers=operator)
    assert refused.status_code == 409 and "cannot be an organiser" in refused.json()["detail"]
    missing = await client.put("/participants/p_nobody/organiser", json={"granted": True, "reason": "who?"},
                               headers=operator)
    assert missing.status_code == 404


async def test_a_rotated_key_overlaps_briefly_and_a_revoked_key_is_dead(infra):
    settings = listing_settings(infra, api_key_overlap_seconds=600)
    async with running(create_app(settings)) as client:
        party = await register(client, "university")
        rotated = await client.post("/participants/me/api-key", headers=party.headers)
        assert rotated.status_code == 201 and rotated.json()["api_key"] != party.api_key
        new_key = rotated.json()["api_key"]
        for key in (party.api_key, new_key):  # both work during the overlap
            assert (await client.post("/auth/token", json={"api_key": key})).status_code == 200
        profile = await client.get("/participants/me", headers=party.headers)
        assert "api_key" not in profile.json()  # never shown again

        revoked = await client.delete("/participants/me/api-key", headers=party.headers)
        assert revoked.status_code == 204
        for key in (party.api_key, new_key):
            dead = await client.post("/auth/token", json={"api_key": key})
            assert (dead.status_code, dead.json()["detail"]) == (401, "unknown or revoked API key (API 密钥无效或已吊销)")

    settings = listing_settings(infra, api_key_overlap_seconds=0)
    async with running(create_app(settings)) as client:
        party = await register(client, "investor")
        new_key = (await client.post("/participants/me/api-key", headers=party.headers)).json()["api_key"]
        assert (await client.post("/auth/token", json={"api_key": party.api_key})).status_code == 401
        assert (await client.post("/auth/token", json={"api_key": new_key})).status_code == 200
        by_other = await client.delete(f"/participants/{party.id}/api-key", headers=party.headers)
        assert by_other.status_code == 403
        by_operator = await client.delete(f"/participants/{party.id}/api-key", headers=operator_headers(settings))
        assert by_operator.status_code == 204
        assert (await client.post("/auth/token", json={"api_key": new_key})).status_code == 401


async def test_sign_ups_are_limited_per_address_behind_trusted_proxies_and_per_email(infra):
    settings = listing_settings(infra, signup_rate_per_ip=2, signup_rate_per_email=2,
                                trusted_proxies="127.0.0.1/32, 10.0.0.0/8")

    def signup(client, email: str, forwarded_for: str | None):
        headers = {} if forwarded_for is None else {"X-Forwarded-For": forwarded_for}
        return client.post("/participants", json=participant_body("enterprise", email=email), headers=headers)

    async with running(create_app(settings)) as client:  # the test client's peer is 127.0.0.1: a trusted proxy
        statuses = [(await signup(client, f"a{n}@example.com", "203.0.113.5")).status_code for n in range(3)]
        assert statuses == [201, 201, 429]
        # a client cannot pick its address by writing to the left of what the proxies added
        spoofed = await signup(client, "spoof@example.com", "198.51.100.1, 203.0.113.5, 10.1.2.3")
        assert spoofed.status_code == 429 and "too many sign-ups" in spoofed.json()["detail"]
        assert int(spoofed.headers["Retry-After"]) >= 1
        assert (await signup(client, "b@example.com", "203.0.113.6")).status_code == 201
        same_email = [(await signup(client, "Team@Example.com", f"203.0.113.{n}")).status_code for n in (10, 11, 12)]
        assert same_email == [201, 201, 429]  # e-mail addresses compare case-insensitively

    untrusted = listing_settings(infra, signup_rate_per_ip=1, signup_rate_per_email=10)
    async with running(create_app(untrusted)) as client:  # no trusted proxy: X-Forwarded-For is ignored
        assert (await signup(client, "c@example.com", "203.0.113.7")).status_code == 201
        assert (await signup(client, "d@example.com", "203.0.113.8")).status_code == 429


async def test_in_production_only_the_listing_service_can_mint_and_others_verify_with_the_public_key(infra):
    private, public = new_key_pair()
    namespace = listing_settings(infra)
    # Production mode refuses the development Kafka passwords too: a principal of its own.
    with production_principal(namespace, "listing", "events_sessions") as kafka:
        await _production_identity(infra, namespace.topic_prefix, private, public, kafka)


async def _production_identity(infra, prefix, private, public, kafka) -> None:
    secrets = {"environment": "production", "operator_token": new_secret(), "api_key_pepper": new_secret()}
    listing = listing_settings(infra, jwt_private_key=private, topic_prefix=prefix, **secrets, **kafka)
    sessions = EventsSessionsSettings(
        kafka_bootstrap_servers=infra.kafka_bootstrap_servers, mongodb_uri=infra.mongodb_uri, topic_prefix=prefix,
        database=f"{prefix.rstrip('-')}_events", jwt_public_key=public, environment="production",
        operator_token=secrets["operator_token"], **kafka)
    async with running(create_app(listing)) as identity, running(create_events_sessions(sessions)) as verifier:
        party = await register(identity, "university")
        keys = (await identity.get("/.well-known/jwks.json")).json()["keys"]
        assert [(k["kty"], k["crv"], k["alg"]) for k in keys] == [("OKP", "Ed25519", "EdDSA")]
        mine = await verifier.get("/me/registrations", headers=party.headers)
        assert mine.status_code == 200, mine.text
        # the development key, public in the repository, mints nothing in production
        local = listing_settings(infra)
        async with running(create_app(local)) as dev_identity:
            dev_party = await register(dev_identity, "university")
        refused = await verifier.get("/me/registrations", headers=dev_party.headers)
        assert (refused.status_code, refused.json()["detail"]) == (401, "invalid token: Signature verification failed")
        metrics = await verifier.get("/metrics", headers={"Authorization": f"Bearer {secrets['operator_token']}"})
        assert metrics.status_code == 200 and "http_requests_total" in metrics.text
