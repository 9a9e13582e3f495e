"""A participant's registrations and agenda, and a session's registrations, are read by ``_id``
(FerretDB v1 scans for any other filter): the sessions and agendas of a participant are noted in
``participant_sessions`` as they are written, and in a database of an earlier version once at start."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from services.events_sessions.app import create_app
from services.events_sessions.domain.model import participant_key
from services.events_sessions.settings import Settings
from services.events_sessions.storage import BOOK
from shared import topics
from shared.events import new_event
from shared.mongo import PACKED, unpack
from shared.events.matching import AgendaData, AgendaSlot, Meeting
from shared.kafka import Producer
from shared.party_types import PartyType
from tests.integration.events_sessions.conftest import T0, session_body
from tests.support import running, wait_for

pytestmark = pytest.mark.integration


async def test_my_registrations_and_agenda_and_a_sessions_registrations_are_id_lookups(
        registry_topics, make_settings, clock, bearer, organiser, mongo_commands):
    # the closer's sweep for sessions past their registration deadline scans; here it runs once
    settings = make_settings(Settings, closer_interval_seconds=3600)
    async with running(create_app(settings, clock=clock)) as client:
        sids = []
        for _ in range(3):
            response = await client.post("/sessions", json=session_body(), headers=organiser)
            sids.append(response.json()["id"])
        uni, ent = bearer("uni-1", PartyType.UNIVERSITY), bearer("ent-1")
        for sid in sids:
            for headers in (uni, ent):
                response = await client.post(f"/sessions/{sid}/registrations", headers=headers,
                                             json={"role": "attendee"})
                assert response.status_code == 201, response.text
        await client.post(f"/sessions/{sids[2]}/registrations", headers=bearer("inv-1", PartyType.INVESTOR),
                          json={"role": "attendee"})
        first = T0 + timedelta(hours=2)
        agenda = AgendaData(session_id=sids[0], version=1,
                            slots=[AgendaSlot(index=0, starts_at=first, ends_at=first + timedelta(minutes=20))],
                            meetings=[Meeting(slot=0, table=1, participant_ids=("uni-1", "ent-1"))])
        producer = Producer(settings, client_id="test-matching")
        await producer.send_event(topics.AGENDAS.full_name(settings.topic_prefix),
                                  new_event("agenda.published.v1", agenda, source="/tests", subject=sids[0]),
                                  key=sids[0])
        await producer.stop()

        async def served():
            return (await client.get("/me/agenda", headers=uni)).json()["items"]

        await wait_for(served, what="the agenda")
        store = client._transport.app.state.sessions.store

        for upgraded in (False, True):
            mongo_commands.clear()
            pages = [(await client.get("/me/registrations", headers=uni, params={"limit": 2})).json()]
            pages.append((await client.get("/me/registrations", headers=uni,
                                           params={"limit": 2, "cursor": pages[0]["next_cursor"]})).json())
            assert [r["session_id"] for page in pages for r in page["items"]] == sorted(sids)
            assert pages[1]["next_cursor"] is None
            meetings = (await client.get("/me/agenda", headers=ent)).json()["items"]
            assert [(m["session_id"], m["counterpart_id"]) for m in meetings] == [(sids[0], "uni-1")]
            assert (await client.get("/me/agenda", headers=bearer("inv-1", PartyType.INVESTOR))).json()["items"] == []
            assert (await client.get("/me/agenda.ics", headers=uni)).status_code == 200
            listed = (await client.get(f"/sessions/{sids[2]}/registrations", headers=organiser)).json()["items"]
            assert [r["participant_id"] for r in listed] == ["uni-1", "ent-1", "inv-1"]
            assert (await client.get(f"/sessions/{sids[0]}/agenda", headers=organiser)).status_code == 200
            assert mongo_commands.filters() and mongo_commands.scans() == []
            # what the web app's session page and agenda wait on, in look-ups by _id
            mongo_commands.clear()
            assert (await client.get(f"/sessions/{sids[0]}")).status_code == 200
            assert (await client.get(f"/sessions/{sids[0]}/registrations/me", headers=uni)).status_code == 200
            assert mongo_commands.lookups() == {"sessions": 2}
            mongo_commands.clear()
            assert len((await client.get("/me/agenda", headers=uni)).json()["items"]) == 1
            # the list noted for the participant, then its agendas with their sessions, together
            assert mongo_commands.lookups() == {"participant_sessions": 1, "agendas": 1, "sessions": 1}
            if not upgraded:  # as in a database of an earlier version: noted once at start
                await store.participant_sessions.delete_many({})
                await store.upgrades.delete_many({})
                assert await store.upgrade() == 3
                assert await store.upgrade() == 0


async def test_a_sessions_registrations_are_stored_packed_and_a_session_stored_before_is_packed_on_its_next_write(
        client, new_session, bearer, organiser):
    sid = (await new_session())["id"]
    people = [("uni-1", PartyType.UNIVERSITY), ("ent-1", PartyType.ENTERPRISE), ("inv-1", PartyType.INVESTOR)]
    for participant, party_type in people[:2]:
        response = await client.post(f"/sessions/{sid}/registrations", headers=bearer(participant, party_type),
                                     json={"role": "attendee"})
        assert response.status_code == 201, response.text
    store = client._transport.app.state.sessions.store
    stored = await store.sessions.find_one({"_id": sid})
    assert sorted(json.loads(stored["registrations" + PACKED])) == sorted(map(participant_key, ["uni-1", "ent-1"]))
    assert not set(BOOK) & set(stored)

    # as an earlier version stored it: registrations and meeting requests as elements of their own
    await store.sessions.replace_one({"_id": sid}, unpack(stored, BOOK))
    store._written.clear()
    listed = (await client.get(f"/sessions/{sid}/registrations", headers=organiser)).json()["items"]
    assert [r["participant_id"] for r in listed] == ["uni-1", "ent-1"]
    response = await client.post(f"/sessions/{sid}/registrations", headers=bearer(*people[2]),
                                 json={"role": "attendee"})
    assert response.status_code == 201, response.text
    moved = await store.sessions.find_one({"_id": sid})
    assert sorted(json.loads(moved["registrations" + PACKED])) == sorted(
        map(participant_key, ["uni-1", "ent-1", "inv-1"]))
    assert not set(BOOK) & set(moved)
    listed = (await client.get(f"/sessions/{sid}/registrations", headers=organiser)).json()["items"]
    assert [r["participant_id"] for r in listed] == ["uni-1", "ent-1", "inv-1"]
