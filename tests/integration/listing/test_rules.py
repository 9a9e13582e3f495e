"""Who may do what (401 vs 403 vs 404), every validation error naming its field, idempotent POSTs
and the token endpoint's rate limit."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from services.listing.app import create_app
from tests.integration.listing.conftest import item_body, listing_settings, operator_headers, participant_body, register
from tests.support import running

pytestmark = pytest.mark.integration


async def test_authorisation_matrix(client, settings):
    owner = await register(client, "university")
    other = await register(client, "university")
    investor = await register(client, "investor")
    item = (await client.post("/listings", json=item_body(), headers=owner.headers)).json()
    url = f"/listings/{item['id']}"

    missing = await client.get(url)
    assert missing.status_code == 401 and missing.json()["detail"] == "missing bearer token"
    garbage = await client.get(url, headers={"Authorization": "Bearer not-a-token"})
    assert garbage.status_code == 401 and "invalid token" in garbage.json()["detail"]
    expired_token = jwt.encode({"iss": settings.jwt_issuer, "sub": owner.id, "pty": "university",
                                "roles": ["participant"], "iat": int(time.time()) - 100, "exp": int(time.time()) - 10},
                               settings.signing_key(), algorithm="EdDSA")
    expired = await client.get(url, headers={"Authorization": f"Bearer {expired_token}"})
    assert expired.status_code == 401 and expired.json()["detail"] == "token expired"
    forged = jwt.encode({"iss": settings.jwt_issuer, "sub": owner.id, "pty": "university", "roles": ["operator"],
                         "iat": int(time.time()), "exp": int(time.time()) + 60}, "another-secret-of-enough-length!",
                        algorithm="HS256")
    assert (await client.get(url, headers={"Authorization": f"Bearer {forged}"})).status_code == 401

    # anyone authenticated reads an open item, the operator included
    assert (await client.get(url, headers=other.headers)).status_code == 200
    assert (await client.get(url, headers=operator_headers(settings))).status_code == 200

    # only the owner writes
    for response in (await client.patch(url, json={"trl": 9}, headers=other.headers),
                     await client.post(f"{url}/withdraw", headers=other.headers)):
        assert response.status_code == 403 and "only the owner" in response.json()["detail"]
    # the operator is not a participant: it cannot post or change participants' items
    operator = operator_headers(settings)
    for response in (await client.patch(url, json={"trl": 9}, headers=operator),
                     await client.post("/listings", json=item_body(), headers=operator),
                     await client.get("/participants/me", headers=operator)):
        assert response.status_code == 403 and response.json()["detail"] == "a participant's token is required"
    # a participant cannot act as operator: its token is not the operator's
    claims = jwt.decode(owner.headers["Authorization"].split()[1], options={"verify_signature": False})
    assert "operator" not in claims["roles"]

    # the party-type rule: an investor offers capital, not technology; a government needs no policy
    refused = await client.post("/listings", json=item_body("technology"), headers=investor.headers)
    assert refused.status_code == 403 and "investor" in refused.json()["detail"]
    assert (await client.post("/listings", json=item_body("capital", trl=None), headers=investor.headers)).status_code == 201
    government = await register(client, "government")
    assert (await client.post("/demands", json=item_body("policy"), headers=government.headers)).status_code == 403
    assert (await client.post("/listings", json=item_body("policy"), headers=government.headers)).status_code == 201

    # an owner's draft is invisible to others (404, not 403: its existence is not disclosed)
    draft = (await client.post("/listings", json=item_body(status="draft"), headers=owner.headers)).json()
    assert (await client.get(f"/listings/{draft['id']}", headers=other.headers)).status_code == 404
    assert (await client.get(f"/listings/{draft['id']}", headers=operator)).status_code == 200
    assert (await client.patch("/listings/l_missing", json={"trl": 3}, headers=owner.headers)).status_code == 404

    unknown_key = await client.post("/auth/token", json={"api_key": "htx_wrong"})
    assert unknown_key.status_code == 401 and "unknown or revoked API key" in unknown_key.json()["detail"]


FUTURE = (datetime.now(UTC) + timedelta(days=30)).isoformat()
PAST = (datetime.now(UTC) - timedelta(days=1)).isoformat()

ITEM_ERRORS = [
    ({"fields": ["5G.XX"]}, ["body", "fields"], "unknown taxonomy code"),
    ({"fields": []}, ["body", "fields"], "at least 1"),
    ({"trl": 0}, ["body", "trl"], "greater than or equal to 1"),
    ({"trl": 10}, ["body", "trl"], "less than or equal to 9"),
    ({"amount": {"min": 10, "max": 5}}, ["body", "amount"], "min must not exceed max"),
    ({"amount": {"min": 1, "currency": "yuan"}}, ["body", "amount", "currency"], "pattern"),
    ({"amount": {"min": 1, "currency": "ZZZ"}}, ["body", "amount", "currency"], "not an ISO 4217 currency code"),
    ({"amount": {"min": 1, "currency": "XXX"}}, ["body", "amount", "currency"], "names no currency"),
    ({"title": {"zh": "芯片\u0000"}}, ["body", "title", "zh"], "U+0000"),
    ({"title": {"en": "chip\u202eredaolnwod"}}, ["body", "title", "en"], "U+202E (RIGHT-TO-LEFT OVERRIDE)"),
    ({"title": {"zh": "毫米波\u200b芯片"}}, ["body", "title", "zh"], "U+200B (ZERO WIDTH SPACE)"),
    ({"title": {"zh": "两行\n标题"}}, ["body", "title", "zh"], "U+000A"),
    ({"description": {"en": "fine\nlines, but \u2066isolated\u2069"}}, ["body", "description", "en"], "U+2066"),
    ({"keywords": ["ok", "\ufeffbom"]}, ["body", "keywords", 1], "U+FEFF"),
    ({"region": "CN-XX"}, ["body", "region"], "unknown region"),
    ({"region_preference": ["CN-SC", "Mars"]}, ["body", "region_preference", 1], "unknown region"),
    ({"title": {"zh": "长" * 201}}, ["body", "title", "zh"], "at most 200"),
    ({"title": {}}, ["body", "title"], "zh, en or both"),
    ({"description": {"en": "x" * 5001}}, ["body", "description", "en"], "at most 5000"),
    ({"keywords": ["k"] * 21}, ["body", "keywords"], "at most 20"),
    ({"transfer_modes": ["gift"]}, ["body", "transfer_modes", 0], "licence"),
    ({"status": "withdrawn"}, ["body", "status"], "draft"),
    ({"expires_at": PAST}, ["body", "expires_at"], "in the future"),
    ({"kind": "magic"}, ["body", "kind"], "technology"),
    ({"owner_id": "p_someone_else"}, ["body", "owner_id"], "Extra inputs are not permitted"),
]


@pytest.mark.parametrize(("change", "loc", "message"), ITEM_ERRORS, ids=[str(e[1][1:]) for e in ITEM_ERRORS])
async def test_item_validation_errors_name_the_field(client, change, loc, message):
    party = await register(client, "institute")
    for method, url, body in (("POST", "/listings", item_body(**change)), ("POST", "/demands", item_body(**change))):
        response = await client.request(method, url, json=body, headers=party.headers)
        assert response.status_code == 422, response.text
        errors = response.json()["detail"]
        assert any(e["loc"] == loc and message in e["msg"] for e in errors), errors


@pytest.mark.parametrize(("change", "loc"), [
    ({"fields": ["NOPE"]}, ["body", "fields"]), ({"title": None}, ["body", "title"]),
    ({"kind": "capital"}, ["body", "kind"]), ({"status": "expired"}, ["body", "status"]),
    ({"amount": {"min": 2, "max": 1}}, ["body", "amount"]),
])
async def test_patch_validation_errors_name_the_field(client, change, loc):
    party = await register(client, "institute")
    item = (await client.post("/listings", json=item_body(), headers=party.headers)).json()
    response = await client.patch(f"/listings/{item['id']}", json=change, headers=party.headers)
    assert response.status_code == 422 and any(e["loc"] == loc for e in response.json()["detail"]), response.text


@pytest.mark.parametrize(("change", "loc"), [
    ({"party_type": "alien"}, ["body", "party_type"]), ({"region": "XX"}, ["body", "region"]),
    ({"fields": ["EIT.NOPE"]}, ["body", "fields"]), ({"language": "fr"}, ["body", "language"]),
    ({"email": "not-an-address"}, ["body", "email"]), ({"webhook_url": "ftp://x"}, ["body", "webhook_url"]),
    ({"organisation": {"en": "o" * 201}}, ["body", "organisation", "en"]), ({"api_key": "mine"}, ["body", "api_key"]),
    ({"organisation": {"zh": "研究院\u0007"}}, ["body", "organisation", "zh"]),
    ({"display_name": {"en": "Ann\u200dBob"}}, ["body", "display_name", "en"]),
])
async def test_participant_validation_errors_name_the_field(client, change, loc):
    response = await client.post("/participants", json=participant_body(**change))
    assert response.status_code == 422 and any(e["loc"] == loc for e in response.json()["detail"]), response.text


async def test_bad_queries_and_oversized_bodies(client):
    party = await register(client, "enterprise")
    for params, name in (({"field": "XX"}, "field"), ({"region": "Atlantis"}, "region"), ({"q": "的 了"}, "q"),
                         ({"limit": 0}, "limit"), ({"status": "gone"}, "status")):
        response = await client.get("/listings", params=params, headers=party.headers)
        assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["query", name], response.text
    huge = item_body(description={"en": "x" * 300_000})
    response = await client.post("/listings", json=huge, headers=party.headers)
    assert response.status_code == 413 and "larger than" in response.json()["detail"]


async def test_idempotency_key_never_creates_a_second_entity(client):
    party = await register(client, "university")
    headers = {**party.headers, "Idempotency-Key": "create-chip-1"}
    first = await client.post("/listings", json=item_body(), headers=headers)
    retry = await client.post("/listings", json=item_body(), headers=headers)
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json() and retry.headers["Idempotent-Replayed"] == "true"
    mine = (await client.get("/listings", params={"mine": "true"}, headers=party.headers)).json()["items"]
    assert [i["id"] for i in mine] == [first.json()["id"]]
    changed = await client.post("/listings", json=item_body(trl=2), headers=headers)
    assert changed.status_code == 422 and changed.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]
    # a request refused by a rule releases its key, so the corrected request may use it
    refused = await client.post("/listings", json=item_body("capital"), headers={**headers, "Idempotency-Key": "k2"})
    assert refused.status_code == 403
    corrected = await client.post("/listings", json=item_body(), headers={**headers, "Idempotency-Key": "k2"})
    assert corrected.status_code == 201, corrected.text


async def test_a_retried_registration_answers_without_a_key_and_keeps_the_first(client):
    """A replayed sign-up (same Idempotency-Key and body) answers the same participant without any
    key: keys are shown once, so a replay can neither take over the account nor revoke its key."""
    body = participant_body("agency", email="retry@example.org")
    first = await client.post("/participants", json=body, headers={"Idempotency-Key": "reg-1"})
    retry = await client.post("/participants", json=body, headers={"Idempotency-Key": "reg-1"})
    assert (first.status_code, retry.status_code, retry.headers["Idempotent-Replayed"]) == (201, 201, "true")
    assert retry.json()["id"] == first.json()["id"] and first.json()["api_key"].startswith("htx_")
    assert retry.json()["api_key"] is None and "shown only in the first response" in retry.json()["api_key_note"]
    assert (await client.post("/auth/token", json={"api_key": first.json()["api_key"]})).status_code == 200


async def test_token_endpoint_is_rate_limited_per_key_and_per_address(infra):
    settings = listing_settings(infra, auth_rate_per_key=3, auth_rate_per_ip=5)
    async with running(create_app(settings)) as client:
        answers = [await client.post("/auth/token", json={"api_key": "htx_guessing"}) for _ in range(4)]
        assert [a.status_code for a in answers] == [401, 401, 401, 429]
        assert int(answers[-1].headers["Retry-After"]) >= 1 and "too many" in answers[-1].json()["detail"]
        others = [await client.post("/auth/token", json={"api_key": f"htx_other{n:04d}"}) for n in range(3)]
        # every attempt counts against the address, the refused fourth one too: its limit of 5 is reached
        assert [a.status_code for a in others] == [401, 429, 429]
