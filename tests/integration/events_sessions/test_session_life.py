"""The whole life of a session against the real broker and store: creation, registration of a
presenter (with their own open listing) and attendees, meeting requests, close with the
snapshot, an agenda from matching served back, check-in and no-shows; every event validated."""

from __future__ import annotations

from datetime import timedelta

import pytest
from icalendar import Calendar

from shared import topics
from shared.events import decode, new_event
from shared.events.common import LocalizedText
from shared.events.listing import ItemData, ItemStatus
from shared.events.matching import AgendaData, AgendaSlot, Meeting
from shared.events.sessions import RegistrationClosedData
from shared.kafka import DLQ_REASON, Producer
from shared.party_types import Kind, PartyType, Side
from tests.integration.events_sessions.conftest import T0
from tests.support import read_records, wait_for

pytestmark = pytest.mark.integration


async def _sessions_events(settings, count: int):
    records = await read_records(settings.kafka_bootstrap_servers, topics.SESSIONS.full_name(settings.topic_prefix),
                                 count=count)
    return records, [decode(r.value, allowed_types=frozenset(topics.SESSIONS.event_types)) for r in records]


async def test_whole_life_of_a_session(client, settings, clock, bearer, organiser, new_session, publish_listing):
    session = await new_session()
    sid = session["id"]
    assert session["accepting_registrations"] and session["seats_taken"] == {"presenter": 0, "attendee": 0}

    listed = await client.get("/sessions", params={"field": "5G", "city": "CN-SC.CD", "open": "true"})
    assert [s["id"] for s in listed.json()["items"]] == [sid]
    assert (await client.get("/sessions", params={"field": "BIO"})).json()["items"] == []
    assert (await client.get("/sessions", params={"open": "false"})).json()["items"] == []
    assert [s["id"] for s in (await client.get("/sessions", params={"organiser": "gov-chengdu"})).json()["items"]] \
        == [sid]
    assert (await client.get("/sessions", params={"organiser": "gov-elsewhere"})).json()["items"] == []

    uni, ent, inv = bearer("uni-1", PartyType.UNIVERSITY), bearer("ent-1"), bearer("inv-1", PartyType.INVESTOR)
    await publish_listing("L-uni-1", "uni-1")
    presenter = await client.post(f"/sessions/{sid}/registrations", headers=uni,
                                  json={"role": "presenter", "listing_ids": ["L-uni-1"], "interests": ["5G.RF"]})
    assert presenter.status_code == 201, presenter.text
    assert presenter.json()["status"] == "confirmed" and presenter.json()["check_in_code"]
    for headers in (ent, inv):
        response = await client.post(f"/sessions/{sid}/registrations", headers=headers, json={"role": "attendee"})
        assert response.status_code == 201 and response.json()["status"] == "confirmed"

    for requester, target, preference in ((uni, "ent-1", "must_meet"), (inv, "uni-1", "would_like"),
                                          (ent, "inv-1", "decline")):
        response = await client.post(f"/sessions/{sid}/meeting-requests", headers=requester,
                                     json={"target_id": target, "preference": preference})
        assert response.status_code == 201, response.text

    closed = await client.post(f"/sessions/{sid}/close", headers=organiser)
    assert closed.status_code == 200 and closed.json()["registration_open"] is False
    late = await client.post(f"/sessions/{sid}/registrations", headers=bearer("ent-2"), json={"role": "attendee"})
    assert late.status_code == 409 and "closed" in late.json()["detail"]

    records, events = await _sessions_events(settings, 8)
    assert {r.key for r in records} == {sid.encode()}
    assert [e.type for e in events] == [
        "session.created.v1", "registration.confirmed.v1", "registration.confirmed.v1", "registration.confirmed.v1",
        "meeting.requested.v1", "meeting.requested.v1", "meeting.requested.v1", "session.registration_closed.v1"]
    assert [e.data.sequence for e in events[1:4]] == [1, 2, 3]
    snapshot: RegistrationClosedData = events[-1].data
    assert [r.participant_id for r in snapshot.registrants] == ["uni-1", "ent-1", "inv-1"]
    assert snapshot.registrants[0].listing_ids == ["L-uni-1"]
    assert {(m.requester_id, m.target_id, m.preference.value) for m in snapshot.meeting_requests} == {
        ("uni-1", "ent-1", "must_meet"), ("inv-1", "uni-1", "would_like"), ("ent-1", "inv-1", "decline")}

    # matching answers with an agenda on its topic: the service stores and serves it
    first = T0 + timedelta(hours=2)
    agenda = AgendaData(session_id=sid, version=1,
                        slots=[AgendaSlot(index=i, starts_at=first + timedelta(minutes=20 * i),
                                          ends_at=first + timedelta(minutes=20 * (i + 1))) for i in range(2)],
                        meetings=[Meeting(slot=0, table=3, participant_ids=("uni-1", "ent-1"), must_meet=True),
                                  Meeting(slot=1, table=0, participant_ids=("inv-1", "uni-1"), score=0.7)],
                        unscheduled_must_meet=[("ent-1", "inv-1")])  # nested arrays: FerretDB v1 refuses them
    producer = Producer(settings, client_id="test-matching")
    await producer.send_event(topics.AGENDAS.full_name(settings.topic_prefix),
                              new_event("agenda.published.v1", agenda, source="/tests", subject=sid), key=sid)
    await producer.stop()

    async def served():
        response = await client.get(f"/sessions/{sid}/agenda", headers=organiser)
        return response.json() if response.status_code == 200 else None

    assert AgendaData.model_validate(await wait_for(served, what="the agenda served")) == agenda
    mine = (await client.get("/me/agenda", headers=uni)).json()["items"]
    assert [(m["slot"], m["table"], m["counterpart_id"], m["must_meet"]) for m in mine] == [
        (0, 3, "ent-1", True), (1, 0, "inv-1", False)]
    assert mine[0]["counterpart_party_type"] == "enterprise" and mine[0]["city"] == "CN-SC.CD"
    page = (await client.get("/me/agenda", headers=uni, params={"limit": 1})).json()
    rest = (await client.get("/me/agenda", headers=uni, params={"cursor": page["next_cursor"]})).json()
    assert [m["slot"] for m in page["items"] + rest["items"]] == [0, 1] and rest["next_cursor"] is None
    ics = await client.get("/me/agenda.ics", headers=uni)
    assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar")
    components = [c for c in Calendar.from_ical(ics.content).walk("VEVENT")]
    assert len(components) == 3 and components[0]["dtstart"].dt == T0
    assert [str(c.get("x-hardtech-counterpart-id")) for c in components[1:]] == ["ent-1", "inv-1"]
    assert (await client.get(f"/sessions/{sid}/agenda", headers=uni)).status_code == 403

    # check-in with the code shown to the participant; the rest are no-shows once it started
    mine = (await client.get(f"/sessions/{sid}/registrations/me", headers=uni)).json()
    qr = await client.get(f"/sessions/{sid}/registrations/me/check-in.png", headers=uni)
    assert qr.status_code == 200 and qr.content.startswith(b"\x89PNG")
    early = await client.post(f"/sessions/{sid}/no-shows", headers=organiser)
    assert early.status_code == 409
    clock.now = T0 + timedelta(minutes=30)
    checked = await client.post(f"/sessions/{sid}/check-ins", headers=organiser, json={"code": mine["check_in_code"]})
    assert checked.status_code == 200 and checked.json()["status"] == "checked_in"
    again = await client.post(f"/sessions/{sid}/check-ins", headers=organiser, json={"code": mine["check_in_code"]})
    assert again.status_code == 409
    wrong = await client.post(f"/sessions/{sid}/check-ins", headers=organiser, json={"code": "NOSUCHCODE"})
    assert wrong.status_code == 404
    marked = await client.post(f"/sessions/{sid}/no-shows", headers=organiser)
    assert marked.json() == {"marked": 2}
    listing = (await client.get(f"/sessions/{sid}/registrations", headers=organiser)).json()["items"]
    assert [(r["participant_id"], r["status"]) for r in listing] == [
        ("uni-1", "checked_in"), ("ent-1", "no_show"), ("inv-1", "no_show")]
    assert all(r["check_in_code"] is None for r in listing)

    _, events = await _sessions_events(settings, 11)
    assert [e.type for e in events[8:]] == [
        "registration.checked_in.v1", "registration.no_show.v1", "registration.no_show.v1"]


async def test_the_deadline_closes_registration_and_publishes_the_snapshot(client, settings, clock, bearer,
                                                                          new_session):
    session = await new_session()
    await client.post(f"/sessions/{session['id']}/registrations", headers=bearer("ent-1"), json={"role": "attendee"})
    clock.now = T0 - timedelta(hours=12)  # past registration_closes_at

    async def closed():
        response = await client.get(f"/sessions/{session['id']}")
        return response.json()["registration_open"] is False

    await wait_for(closed, what="the closer to close the session")
    _, events = await _sessions_events(settings, 3)
    assert events[-1].type == "session.registration_closed.v1"
    assert [r.participant_id for r in events[-1].data.registrants] == ["ent-1"]


async def test_an_agenda_for_an_unknown_session_is_dead_lettered(client, settings):
    agenda = AgendaData(session_id="s_nope", version=1, slots=[], meetings=[])
    producer = Producer(settings, client_id="test-matching")
    await producer.send_event(topics.AGENDAS.full_name(settings.topic_prefix),
                              new_event("agenda.published.v1", agenda, source="/tests"), key="s_nope")
    await producer.stop()
    dead = await read_records(settings.kafka_bootstrap_servers,
                              topics.dead_letter("events_sessions").full_name(settings.topic_prefix), count=1)
    assert "unknown session" in dict(dead[0].headers)[DLQ_REASON].decode()


async def test_a_listing_the_store_cannot_hold_is_dead_lettered_and_the_next_is_handled(
        client, settings, publish_listing):
    """``version`` 2**63 (beyond the store's int64) once reached the handler, whose store write
    raised OverflowError forever and stalled the partition; now the schema refuses it beyond
    2**53 - 1 and the record is dead-lettered at once. (A record that breaks its handler is
    dead-lettered after bounded tries: tests/integration/test_outbox_and_consumer.py.)"""
    item = ItemData(id="L-huge", side=Side.OFFER, kind=Kind.TECHNOLOGY, owner_id="uni-1",
                    owner_party_type=PartyType.UNIVERSITY, title=LocalizedText(zh="毫米波射频芯片"),
                    fields=["5G.RF"], status=ItemStatus.OPEN, created_at=T0, updated_at=T0, version=7)
    poison = new_event("listing.updated.v1", item, source="/tests", subject="L-huge").model_dump_json(
        exclude_none=True).replace('"version":7', f'"version":{2**63}').encode()
    producer = Producer(settings, client_id="test-listings")
    await producer.send(topics.LISTINGS.full_name(settings.topic_prefix), poison, key="L-huge")
    await producer.stop()
    await publish_listing("L-huge", "uni-1")  # the same key, so the same partition, after the poison: handled
    dead = await read_records(settings.kafka_bootstrap_servers,
                              topics.dead_letter("events_sessions").full_name(settings.topic_prefix), count=1)
    assert len(dead) == 1 and dead[0].value == poison
    headers = dict(dead[0].headers)
    assert "version" in headers[DLQ_REASON].decode() and "9007199254740991" in headers[DLQ_REASON].decode()
    assert headers["dlq.offset"] == b"0"
    store = client._transport.app.state.sessions.store  # type: ignore[attr-defined]
    assert (await store.listings.find_one({"_id": "L-huge"}))["version"] == 1
