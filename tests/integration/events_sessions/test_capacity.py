"""Capacity under real concurrency: 200 registrations at once for 50 seats, the waitlist in
arrival order, promotion on cancellation, quotas per party type, and capacity changes."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from shared import topics
from shared.events import decode
from shared.party_types import PartyType
from tests.support import read_events

pytestmark = pytest.mark.integration


async def test_200_concurrent_registrations_for_50_seats(client, settings, bearer, new_session):
    session = await new_session(capacity={"presenters": 1, "attendees": 50})
    sid = session["id"]
    tokens = [bearer(f"ent-{n:03d}") for n in range(200)]
    responses = await asyncio.gather(*(client.post(f"/sessions/{sid}/registrations", headers=headers,
                                                   json={"role": "attendee"}) for headers in tokens))
    assert {r.status_code for r in responses} == {201}
    results = [r.json() for r in responses]
    assert Counter(r["status"] for r in results) == {"confirmed": 50, "waitlisted": 150}
    by_sequence = sorted(results, key=lambda r: r["sequence"])
    assert [r["sequence"] for r in by_sequence] == list(range(1, 201))
    # arrival order decides: the first 50 to arrive hold the seats, the rest queue in order
    assert [r["status"] for r in by_sequence] == ["confirmed"] * 50 + ["waitlisted"] * 150
    assert [r["waitlist_position"] for r in by_sequence[50:]] == list(range(1, 151))

    stored = (await client.get(f"/sessions/{sid}")).json()
    assert stored["seats_taken"]["attendee"] == 50 and stored["waitlisted"]["attendee"] == 150
    # every decision staged its event in the same write, in arrival order (published by the relay)
    relay = client._transport.app.state.sessions.relay
    published_before = relay.published
    document = await client._transport.app.state.sessions.store.sessions.find_one({"_id": sid})
    staged = [decode(entry["value"].encode()) for entry in document["_outbox"]]
    sequences = [e.data.sequence for e in staged if e.type.startswith("registration.")]
    assert published_before + len(staged) <= 201 <= relay.published + len(staged)  # nothing lost or doubled
    assert sequences == list(range(201 - len(sequences), 201))  # the unpublished tail, in order

    # cancellations promote the head of the waitlist, in arrival order
    for n, cancelled in enumerate(by_sequence[:2]):
        headers = tokens[int(cancelled["participant_id"].split("-")[1])]
        response = await client.delete(f"/sessions/{sid}/registrations/me", headers=headers)
        assert response.json()["status"] == "cancelled"
        head = by_sequence[50 + n]
        mine = await client.get(f"/sessions/{sid}/registrations/me",
                                headers=tokens[int(head["participant_id"].split("-")[1])])
        assert mine.json()["status"] == "confirmed"
    next_in_line = by_sequence[52]
    mine = await client.get(f"/sessions/{sid}/registrations/me",
                            headers=tokens[int(next_in_line["participant_id"].split("-")[1])])
    assert mine.json()["waitlist_position"] == 1


async def test_quotas_per_party_type_and_promotion_that_fits(client, settings, bearer, new_session):
    session = await new_session(capacity={"presenters": 1, "attendees": 3}, quotas={"investor": 1})
    sid = session["id"]
    people = [("inv-1", PartyType.INVESTOR), ("inv-2", PartyType.INVESTOR), ("ent-1", PartyType.ENTERPRISE),
              ("ent-2", PartyType.ENTERPRISE), ("ent-3", PartyType.ENTERPRISE)]
    statuses = {}
    for pid, party_type in people:
        response = await client.post(f"/sessions/{sid}/registrations", headers=bearer(pid, party_type),
                                     json={"role": "attendee"})
        statuses[pid] = response.json()["status"]
    # inv-2 is over the investors' quota; ent-3 finds the seats full
    assert statuses == {"inv-1": "confirmed", "inv-2": "waitlisted", "ent-1": "confirmed", "ent-2": "confirmed",
                        "ent-3": "waitlisted"}
    # an enterprise seat freed goes to ent-3, not to inv-2 ahead of it (the quota still binds)
    await client.delete(f"/sessions/{sid}/registrations/me", headers=bearer("ent-1"))
    assert (await client.get(f"/sessions/{sid}/registrations/me", headers=bearer("ent-3"))).json()["status"] == "confirmed"
    inv2 = await client.get(f"/sessions/{sid}/registrations/me", headers=bearer("inv-2", PartyType.INVESTOR))
    assert inv2.json()["status"] == "waitlisted"
    # the investor's seat freed goes to inv-2
    await client.delete(f"/sessions/{sid}/registrations/me", headers=bearer("inv-1", PartyType.INVESTOR))
    inv2 = await client.get(f"/sessions/{sid}/registrations/me", headers=bearer("inv-2", PartyType.INVESTOR))
    assert inv2.json()["status"] == "confirmed"
    events = await read_events(settings.kafka_bootstrap_servers, topics.SESSIONS.full_name(settings.topic_prefix),
                               count=10)
    assert [(e.type, e.data.participant_id) for e in events[6:]] == [
        ("registration.cancelled.v1", "ent-1"), ("registration.promoted.v1", "ent-3"),
        ("registration.cancelled.v1", "inv-1"), ("registration.promoted.v1", "inv-2")]
    assert events[7].data.status == "confirmed" and events[7].data.sequence == 5


async def test_a_larger_capacity_promotes_the_waitlist(client, bearer, organiser, new_session):
    session = await new_session(capacity={"presenters": 1, "attendees": 1})
    sid = session["id"]
    for pid in ("ent-1", "ent-2", "ent-3"):
        await client.post(f"/sessions/{sid}/registrations", headers=bearer(pid), json={"role": "attendee"})
    shrink = await client.patch(f"/sessions/{sid}", headers=organiser, json={"capacity": {"presenters": 1,
                                                                                          "attendees": 0}})
    assert shrink.status_code == 422
    grown = await client.patch(f"/sessions/{sid}", headers=organiser, json={"capacity": {"presenters": 1,
                                                                                         "attendees": 2}})
    assert grown.status_code == 200, grown.text
    assert grown.json()["version"] == 2 and grown.json()["seats_taken"]["attendee"] == 2
    statuses = [(await client.get(f"/sessions/{sid}/registrations/me", headers=bearer(p))).json()["status"]
                for p in ("ent-1", "ent-2", "ent-3")]
    assert statuses == ["confirmed", "confirmed", "waitlisted"]
    again = await client.post(f"/sessions/{sid}/registrations", headers=bearer("ent-1"), json={"role": "attendee"})
    assert again.status_code == 409 and "already registered" in again.json()["detail"]
