"""Every bad input gets a clear answer: 422 naming the field, 409, 404, 403, 401; never a 500."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.events.listing import ItemStatus
from shared.party_types import PartyType
from tests.integration.events_sessions.conftest import T0, session_body

pytestmark = pytest.mark.integration


def _locs(response) -> list[list]:
    assert response.status_code == 422, response.text
    return [e["loc"] for e in response.json()["detail"]]


@pytest.mark.parametrize("overrides, loc", [
    ({"ends_at": (T0 - timedelta(hours=1)).isoformat()}, ["body", "ends_at"]),
    ({"registration_closes_at": (T0 + timedelta(hours=1)).isoformat()}, ["body", "registration_closes_at"]),
    ({"registration_opens_at": (T0 - timedelta(hours=1)).isoformat()}, ["body", "registration_closes_at"]),
    ({"capacity": {"presenters": 0, "attendees": 10}}, ["body", "capacity", "presenters"]),
    ({"capacity": {"presenters": 2, "attendees": -1}}, ["body", "capacity", "attendees"]),
    ({"fields": ["5G", "NOPE"]}, ["body", "fields", 1]),
    ({"city": "CN-XX.YY"}, ["body", "city"]),
    ({"high_tech_zone": "ZGC"}, ["body", "high_tech_zone"]),
    ({"quotas": {"alien": 3}}, ["body", "quotas", "alien", "[key]"]),
    ({"quotas": {"investor": 0}}, ["body", "quotas", "investor"]),
    ({"starts_at": "2030-05-01T09:00:00"}, ["body", "starts_at"]),
    ({"surprise": 1}, ["body", "surprise"]),
    ({"title": {"zh": "硬科技专场\u202e"}}, ["body", "title", "zh"]),
    ({"title": {"en": "Hard\u200btech"}}, ["body", "title", "en"]),
    ({"venue": "菁蓉汇\u0000"}, ["body", "venue"]),
    ({"industrial_cluster": "电子信息\n产业集群"}, ["body", "industrial_cluster"]),
    ({"quotas": {"investor": 2**63}}, ["body", "quotas", "investor"]),
])
async def test_bad_sessions_are_422_naming_the_field(client, organiser, overrides, loc):
    response = await client.post("/sessions", json=session_body(**overrides), headers=organiser)
    assert loc in _locs(response)


async def test_who_may_organise(client, bearer, organiser, new_session):
    assert (await client.post("/sessions", json=session_body())).status_code == 401
    bad = await client.post("/sessions", json=session_body(), headers={"authorization": "Bearer junk"})
    assert bad.status_code == 401 and "invalid token" in bad.json()["detail"]
    enterprise = await client.post("/sessions", json=session_body(), headers=bearer("ent-1"))
    assert enterprise.status_code == 403 and "organiser" in enterprise.json()["detail"]
    session = await new_session()
    other = bearer("agency-9", PartyType.AGENCY)
    for method, path, body in (("PATCH", "", {"venue": "elsewhere"}), ("POST", "/close", None),
                               ("GET", "/registrations", None), ("POST", "/no-shows", None)):
        response = await client.request(method, f"/sessions/{session['id']}{path}", json=body, headers=other)
        assert response.status_code == 403 and "organiser" in response.json()["detail"], path
    operator = {"authorization": "Bearer hardtech-dev-operator-token"}
    assert (await client.patch(f"/sessions/{session['id']}", json={"venue": "天府软件园"},
                               headers=operator)).json()["venue"] == "天府软件园"
    assert (await client.post(f"/sessions/{session['id']}/registrations", json={"role": "attendee"},
                              headers=operator)).status_code == 403


async def test_unknown_sessions_are_404(client, bearer, organiser):
    for method, path, headers in (("GET", "", {}), ("PATCH", "", organiser), ("POST", "/close", organiser),
                                  ("POST", "/registrations", bearer("ent-1")),
                                  ("DELETE", "/registrations/me", bearer("ent-1")),
                                  ("GET", "/agenda", organiser)):
        body = {"role": "attendee"} if path == "/registrations" else ({} if method == "PATCH" else None)
        response = await client.request(method, f"/sessions/s_missing{path}", json=body, headers=headers)
        assert response.status_code == 404 and "no session" in response.json()["detail"], path


async def test_bad_registrations(client, clock, bearer, organiser, new_session, publish_listing):
    sid = (await new_session())["id"]
    uni = bearer("uni-1", PartyType.UNIVERSITY)
    await publish_listing("L-mine", "uni-1")
    await publish_listing("L-theirs", "uni-2")
    await publish_listing("L-withdrawn", "uni-1", ItemStatus.WITHDRAWN)
    url = f"/sessions/{sid}/registrations"
    assert _locs(await client.post(url, headers=uni, json={"role": "presenter"})) == [["body", "listing_ids"]]
    problems = (await client.post(url, headers=uni, json={
        "role": "presenter", "listing_ids": ["L-mine", "L-theirs", "L-withdrawn", "L-none"]})).json()["detail"]
    assert [(p["loc"], p["msg"].split(" / ")[0]) for p in problems] == [
        (["body", "listing_ids", 1], "listing 'L-theirs' is not yours"),
        (["body", "listing_ids", 2], "listing 'L-withdrawn' is withdrawn, not open"),
        (["body", "listing_ids", 3], "unknown listing 'L-none'")]
    assert _locs(await client.post(url, headers=uni, json={"role": "attendee", "listing_ids": ["L-mine"]})) == [
        ["body", "listing_ids"]]
    assert _locs(await client.post(url, headers=uni, json={"role": "attendee", "interests": ["XX"]})) == [
        ["body", "interests", 0]]
    assert _locs(await client.post(url, headers=uni, json={"role": "speaker"})) == [["body", "role"]]
    # a listing withdrawn after it was checked no longer qualifies
    await publish_listing("L-mine", "uni-1", ItemStatus.WITHDRAWN, version=2)
    assert _locs(await client.post(url, headers=uni, json={"role": "presenter", "listing_ids": ["L-mine"]})) == [
        ["body", "listing_ids", 0]]

    assert (await client.post(url, headers=bearer("ent-1"), json={"role": "attendee"})).status_code == 201
    twice = await client.post(url, headers=bearer("ent-1"), json={"role": "attendee"})
    assert twice.status_code == 409 and "already registered" in twice.json()["detail"]
    self_meeting = await client.post(f"/sessions/{sid}/meeting-requests", headers=bearer("ent-1"),
                                     json={"target_id": "ent-1", "preference": "must_meet"})
    assert _locs(self_meeting) == [["body", "target_id"]]
    stranger = await client.post(f"/sessions/{sid}/meeting-requests", headers=bearer("ent-1"),
                                 json={"target_id": "nobody", "preference": "would_like"})
    assert _locs(stranger) == [["body", "target_id"]]
    unregistered = await client.post(f"/sessions/{sid}/meeting-requests", headers=bearer("ent-7"),
                                     json={"target_id": "ent-1", "preference": "would_like"})
    assert unregistered.status_code == 409
    assert (await client.get(f"/sessions/{sid}/registrations/me", headers=bearer("ent-7"))).status_code == 404

    clock.now = T0 - timedelta(days=30)  # before the window opens
    early = await client.post(url, headers=bearer("ent-2"), json={"role": "attendee"})
    assert early.status_code == 409 and "opens at" in early.json()["detail"]
    clock.now = T0 - timedelta(days=10)
    await client.post(f"/sessions/{sid}/close", headers=organiser)
    assert (await client.post(f"/sessions/{sid}/close", headers=organiser)).status_code == 409
    for path, body in (("/registrations", {"role": "attendee"}),
                       ("/meeting-requests", {"target_id": "ent-1", "preference": "decline"})):
        response = await client.post(f"/sessions/{sid}{path}", headers=bearer("ent-3"), json=body)
        assert response.status_code == 409 and "closed" in response.json()["detail"]


async def test_bad_queries_and_cursors(client, organiser, new_session):
    for _ in range(3):
        await new_session()
    first = (await client.get("/sessions", params={"limit": 2})).json()
    second = (await client.get("/sessions", params={"limit": 2, "cursor": first["next_cursor"]})).json()
    assert len(first["items"]) == 2 and len(second["items"]) == 1 and second["next_cursor"] is None
    assert {s["id"] for s in first["items"]}.isdisjoint(s["id"] for s in second["items"])
    for params in ({"cursor": "%%%"}, {"cursor": "WzFd"}, {"limit": 0}, {"starts_from": "tomorrow"}):
        response = await client.get("/sessions", params=params)
        assert response.status_code == 422, params
    assert (await client.get("/me/agenda", params={"cursor": "WzFd"},
                             headers=organiser)).status_code == 422


async def test_a_waitlisted_participant_may_not_request_meetings_until_promoted(client, bearer, new_session):
    sid = (await new_session(capacity={"presenters": 1, "attendees": 1}))["id"]
    url = f"/sessions/{sid}/registrations"
    for participant in ("ent-1", "ent-2"):
        assert (await client.post(url, headers=bearer(participant), json={"role": "attendee"})).status_code == 201
    assert (await client.get(f"{url}/me", headers=bearer("ent-2"))).json()["status"] == "waitlisted"
    request = {"target_id": "ent-1", "preference": "must_meet"}
    refused = await client.post(f"/sessions/{sid}/meeting-requests", headers=bearer("ent-2"), json=request)
    assert refused.status_code == 409 and "on the waitlist" in refused.json()["detail"]
    assert (await client.delete(f"{url}/me", headers=bearer("ent-1"))).status_code == 200
    assert (await client.get(f"{url}/me", headers=bearer("ent-2"))).json()["status"] == "confirmed"
    request = {"target_id": "ent-3", "preference": "must_meet"}
    assert (await client.post(url, headers=bearer("ent-3"), json={"role": "attendee"})).status_code == 201
    accepted = await client.post(f"/sessions/{sid}/meeting-requests", headers=bearer("ent-2"), json=request)
    assert accepted.status_code == 201, accepted.text
