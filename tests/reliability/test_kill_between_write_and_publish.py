"""kill -9 at the instant between a store write and its publish (tests/reliability/dies_before_publish.py),
then start the service again: counted exactly, every entity the clients were answered about is
stored once and announced by exactly one event, and no outbox holds anything afterwards."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from typing import Any

import pytest

from shared import outbox, topics
from shared.auth import Role, issue_token
from shared.mongo import make_client
from shared.party_types import PartyType
from shared.settings import CommonSettings
from tests.infrastructure import Endpoints
from tests.reliability.conftest import ServiceProcess
from tests.reliability.replicas import replica_environment
from tests.reliability.workload import Api, item_bodies, session_body, topic_records
from tests.support import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.reliability, pytest.mark.timeout(600)]

WRITES = 6
DIES_AT = 3  # the third write's events are stored and never sent by the process that wrote them


async def crash_and_recover(service: ServiceProcess, work: asyncio.Task[list[str]]) -> list[str]:
    """Wait for the injected crash, start the service as it normally runs, let the clients finish."""
    await wait_for(lambda: asyncio.sleep(0, result=service.proc.pid() is None or work.done()), timeout=120,
                   what=f"{service.name} to die at its write {DIES_AT}")
    assert not work.done(), f"the clients finished without {service.name} dying: {work.result()}"
    service.module = ""
    await asyncio.to_thread(service.start)
    return await work


async def no_outbox_left(service: ServiceProcess, collection: str) -> None:
    mongo = make_client(service.env["MONGODB_URI"])
    try:
        pending = mongo[service.database][collection]

        async def empty() -> bool:
            return await pending.count_documents({outbox.PENDING: True}) == 0

        await wait_for(empty, timeout=60, what=f"the outbox of {service.database}.{collection} to empty")
    finally:
        await mongo.close()


def announced(records: list[Any], subject_of: Any) -> dict[str, set[tuple[str, str]]]:
    """(type, event id) of every event on a topic, per entity."""
    found: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for record in records:
        event = json.loads(record.value)
        found[subject_of(event)].add((event["type"], event["id"]))
    return found


def token(settings: CommonSettings, participant_id: str, party_type: PartyType,
          roles: frozenset[Role] = frozenset()) -> str:
    return issue_token(settings, participant_id, party_type, roles)[0]


def dying(name: str, namespace: str, infra: Endpoints) -> ServiceProcess:
    return ServiceProcess(name, namespace, replica_environment(name, namespace, infra),
                          module=f"tests.reliability.dies_before_publish {name} {DIES_AT}")


async def test_listing_killed_between_storing_an_offer_and_publishing_it(infra: Endpoints,
                                                                          registry_topics: CommonSettings,
                                                                          namespace: str):
    owner = token(registry_topics, "p_uni_crash", PartyType.UNIVERSITY)
    service = dying("listing", namespace, infra)
    await asyncio.to_thread(service.start)
    api = Api(service.url)
    try:
        async def post_offers() -> list[str]:  # one client, one offer after another, retried with its key
            return [(await api.json("POST", "/listings", json=item_bodies("crash", n)[0], retry_on=(409,),
                                    token=owner,
                                    idempotency_key=f"crash-offer-{n}"))["id"] for n in range(WRITES)]

        ids = await crash_and_recover(service, asyncio.create_task(post_offers()))
        assert len(set(ids)) == WRITES
        mine = await api.pages("/listings", token=owner,
                               params={"mine": "true"})
        assert sorted(item["id"] for item in mine) == sorted(ids)
        await no_outbox_left(service, "listings")
        records = await topic_records(infra.kafka_bootstrap_servers, topics.LISTINGS.full_name(namespace))
        events = announced(records, lambda event: event["data"]["id"])
        assert {item_id: {t for t, _ in found} for item_id, found in events.items()} == \
            {item_id: {"listing.created.v1"} for item_id in ids}
        assert [item_id for item_id, found in events.items() if len(found) != 1] == []
    finally:
        await api.close()
        await asyncio.to_thread(service.stop)


async def test_events_sessions_killed_between_storing_a_registration_and_publishing_it(
        infra: Endpoints, registry_topics: CommonSettings, namespace: str):
    organiser = token(registry_topics, "p_gov_crash", PartyType.GOVERNMENT, frozenset({Role.ORGANISER}))
    service = dying("events_sessions", namespace, infra)
    await asyncio.to_thread(service.start)
    api = Api(service.url)
    participants = [f"p_ent_crash_{n}" for n in range(WRITES - 1)]
    try:
        async def open_and_register() -> list[str]:  # the session is the first write
            created = await api.json("POST", "/sessions", json=session_body("crash", WRITES),
                                     token=organiser)
            for participant in participants:  # 409 after a retry: the first attempt got through
                await api.call("POST", f"/sessions/{created['id']}/registrations", json={"role": "attendee"},
                               accept=(201, 409),
                               token=token(registry_topics, participant, PartyType.ENTERPRISE))
            return [created["id"]]

        [session_id] = await crash_and_recover(service, asyncio.create_task(open_and_register()))
        registrations = await api.pages(f"/sessions/{session_id}/registrations",
                                        token=organiser)
        assert sorted(r["participant_id"] for r in registrations) == sorted(participants)
        assert sorted(r["sequence"] for r in registrations) == list(range(1, WRITES))
        await no_outbox_left(service, "sessions")
        records = await topic_records(infra.kafka_bootstrap_servers, topics.SESSIONS.full_name(namespace))
        events = announced(records, lambda event: event["data"].get("participant_id", "session"))
        assert {who: {t for t, _ in found} for who, found in events.items()} == \
            {"session": {"session.created.v1"}, **{p: {"registration.confirmed.v1"} for p in participants}}
        assert [who for who, found in events.items() if len(found) != 1] == []
        dead_letters = topics.dead_letter("events_sessions").full_name(namespace)
        assert await topic_records(infra.kafka_bootstrap_servers, dead_letters) == []
    finally:
        await api.close()
        await asyncio.to_thread(service.stop)
