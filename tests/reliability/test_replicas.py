"""Two replicas of each HTTP service on one store and one broker, under concurrent load: what the
participants are told, what the store keeps and what the topics carry must add up exactly, as
with one process. FerretDB v1 loses one of two overlapping updates of a document, so this holds
only because writers of one document exclude each other through the store (shared/locks.py)."""

from __future__ import annotations

import asyncio
import json
from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from aiosmtpd.controller import Controller

from services.matching.ledger import SOURCE
from services.matching.storage import MatchingStore
from services.monitor.domain.alerts import ActiveAlert, Condition
from services.monitor.storage import AlertStore
from services.notification.domain.preferences import (
    ChannelPreferences, EmailPreference, Preferences, WebhookPreference, new_webhook_secret,
)
from services.notification.storage import DELIVERED, Store
from shared import topics
from shared.auth import Role, issue_token
from shared.events import new_event
from shared.kafka import Producer
from shared.locks import COLLECTION as LOCKS, KeyedLocks, StoreLeases
from shared.mongo import make_client
from shared.party_types import PartyType
from shared.settings import CommonSettings
from tests.conftest import database_name
from tests.infrastructure import Endpoints
from tests.integration.matching.test_api import _match
from tests.integration.notification.conftest import Mailbox, WebhookReceiver, serving
from tests.reliability.replicas import all_pages, replicas
from tests.reliability.workload import item_bodies, session_body, topic_records
from tests.support import free_port, read_records, wait_for
from tests.unit.notification import samples

pytestmark = [pytest.mark.integration, pytest.mark.reliability, pytest.mark.timeout(600)]

REGISTRANTS = 40
SEATS = 10
MATCHES = 120
RECIPIENTS = 10
MESSAGES_EACH = 12  # per recipient and channel


def bearer(settings: CommonSettings, participant_id: str, party_type: PartyType,
           roles: frozenset[Role] = frozenset()) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(settings, participant_id, party_type, roles)[0]}"}


def events_by_subject(records: list[Any], prefix: str) -> dict[str, set[tuple[str, str]]]:
    """(type, event id) of every ``prefix…`` event on a topic, per registration (participant)."""
    found: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for record in records:
        event = json.loads(record.value)
        if event["type"].startswith(prefix):
            found[event["data"]["participant_id"]].add((event["type"], event["id"]))
    return found


async def publish_matches(producer: Producer, topic: str) -> None:
    """``MATCHES`` matches of the same two participants, in waves while both replicas consume (the
    group may still be settling at first), keyed by match id: spread over the partitions."""
    for wave in range(6):
        for n in range(wave * MATCHES // 6, (wave + 1) * MATCHES // 6):
            event = samples.match_created(match_id=f"m_{n:03d}")
            await producer.send_event(topic, event, key=event.subject or event.id)
        await asyncio.sleep(0.5)


async def test_two_replicas_seat_a_session_exactly(infra: Endpoints, registry_topics: CommonSettings,
                                                   namespace: str):
    """40 participants register at once for 10 seats, alternately on each replica: 10 confirmed,
    30 waitlisted at positions 1–30, arrival numbers 1–40, each registration stored and announced
    exactly once."""
    settings = registry_topics
    organiser = bearer(settings, "p_gov_replicas", PartyType.GOVERNMENT, frozenset({Role.ORGANISER}))
    body = session_body("replicas", 1)
    body["capacity"] = {"presenters": 2, "attendees": SEATS}
    participants = [f"p_ent_{n:02d}" for n in range(REGISTRANTS)]
    async with replicas("events_sessions", namespace, infra) as service, httpx.AsyncClient(timeout=60) as client:
        created = await client.post(f"{service.url(0)}/sessions", json=body, headers=organiser)
        assert created.status_code == 201, created.text
        session_id = created.json()["id"]

        async def register(n: int, participant_id: str) -> httpx.Response:
            return await client.post(f"{service.url(n)}/sessions/{session_id}/registrations", json={"role": "attendee"},
                                     headers=bearer(settings, participant_id, PartyType.ENTERPRISE))

        answers = await asyncio.gather(*(register(n, p) for n, p in enumerate(participants)))
        assert [a.status_code for a in answers] == [201] * REGISTRANTS, [a.text for a in answers if a.status_code != 201]
        told = Counter(a.json()["status"] for a in answers)
        assert told == {"confirmed": SEATS, "waitlisted": REGISTRANTS - SEATS}

        for url in service.urls:  # each replica reads the same, whichever wrote
            stored = await all_pages(client, f"{url}/sessions/{session_id}/registrations", headers=organiser)
            assert sorted(r["participant_id"] for r in stored) == participants
            assert sorted(r["sequence"] for r in stored) == list(range(1, REGISTRANTS + 1))
            assert Counter(r["status"] for r in stored) == told
            assert sorted(r["waitlist_position"] for r in stored if r["status"] == "waitlisted") == \
                list(range(1, REGISTRANTS - SEATS + 1))
            assert {r["participant_id"]: r["status"] for r in stored} == \
                {p: a.json()["status"] for p, a in zip(participants, answers, strict=True)}
            summary = (await client.get(f"{url}/sessions/{session_id}")).json()
            assert (summary["seats_taken"], summary["waitlisted"]) == \
                ({"presenter": 0, "attendee": SEATS}, {"presenter": 0, "attendee": REGISTRANTS - SEATS})

        async def all_announced() -> dict[str, set[tuple[str, str]]] | None:
            # the relays publish at least once: a record may come twice, so wait for every registration
            records = await topic_records(infra.kafka_bootstrap_servers, topics.SESSIONS.full_name(namespace))
            found = events_by_subject(records, "registration.")
            return found if set(found) == set(participants) else None

        announced = await wait_for(all_announced, timeout=60, what="an event of every registration")
        assert {p: {t for t, _ in events} for p, events in announced.items()} == \
            {p: {f"registration.{a.json()['status']}.v1"} for p, a in zip(participants, answers, strict=True)}
        assert [p for p, events in announced.items() if len(events) != 1] == []


async def test_two_replicas_fan_out_each_notice_to_one_inbox_slot(infra: Endpoints, registry_topics: CommonSettings,
                                                                  namespace: str):
    """120 matches of the same two participants, keyed by match id over the topic's partitions,
    which the two replicas' consumers share: each party's inbox holds each match once, numbered
    1–120 without a gap or a repeat, and both replicas count 120 unread."""
    settings = registry_topics
    producer = Producer(settings, client_id="replica-test")
    topic = topics.MATCHES.full_name(namespace)
    try:
        async with replicas("notification", namespace, infra) as service, httpx.AsyncClient(timeout=60) as client:
            await publish_matches(producer, topic)
            for party in ("p_uni", "p_ent"):
                headers = bearer(settings, party, PartyType.ENTERPRISE)

                async def counted(url: str = service.url(0), headers: dict[str, str] = headers) -> bool:
                    unread = (await client.get(f"{url}/inbox/unread-count", headers=headers)).json()["unread"]
                    return unread >= MATCHES

                await wait_for(counted, timeout=120, what=f"{MATCHES} notices for {party}")
                for url in service.urls:
                    inbox = await all_pages(client, f"{url}/inbox", headers=headers)
                    assert sorted(e["seq"] for e in inbox) == list(range(1, MATCHES + 1))
                    assert sorted(e["data"]["match_id"] for e in inbox) == [f"m_{n:03d}" for n in range(MATCHES)]
                    unread = (await client.get(f"{url}/inbox/unread-count", headers=headers)).json()
                    assert unread == {"unread": MATCHES}
    finally:
        await producer.stop()


async def test_two_replicas_count_each_match_of_the_funnel_once(infra: Endpoints, registry_topics: CommonSettings,
                                                                namespace: str):
    """120 matches over the topic's partitions, which the two replicas' consumers share, all counted
    in the same counter documents (``all`` and the party-type pair): each counts 120 made."""
    settings = registry_topics
    organiser = bearer(settings, "p_gov_funnel", PartyType.GOVERNMENT, frozenset({Role.ORGANISER}))
    producer = Producer(settings, client_id="replica-test")
    topic = topics.MATCHES.full_name(namespace)
    try:
        async with replicas("deals", namespace, infra) as service, httpx.AsyncClient(timeout=60) as client:
            await publish_matches(producer, topic)

            async def made(params: dict[str, str]) -> int:
                funnel = (await client.get(f"{service.url(0)}/funnel", params=params, headers=organiser)).json()
                return next(s["count"] for s in funnel["steps"] if s["step"] == "made")

            async def all_made() -> bool:
                return await made({}) >= MATCHES

            await wait_for(all_made, timeout=120, what=f"{MATCHES} matches counted")
            assert [await made(params) for params in ({}, {"pair": "university>enterprise"})] == [MATCHES, MATCHES]
    finally:
        await producer.stop()


async def test_two_replicas_number_each_version_of_an_offer_once(infra: Endpoints, registry_topics: CommonSettings,
                                                                  namespace: str):
    """20 concurrent changes of one offer, alternately on each replica: every change answered 200
    has a version of its own, the offer ends at the last of them, and the listings topic carries
    each version exactly once, with the title its change set (a change that lost the race four
    times is a 409, and not applied)."""
    settings = registry_topics
    owner = bearer(settings, "p_uni_versions", PartyType.UNIVERSITY)
    offer, _ = item_bodies("replicas", 1)
    async with replicas("listing", namespace, infra) as service, httpx.AsyncClient(timeout=60) as client:
        created = await client.post(f"{service.url(0)}/listings", json=offer, headers=owner)
        assert created.status_code == 201, created.text
        offer_id = created.json()["id"]

        async def change(n: int) -> httpx.Response:
            title = {"zh": f"版本测试{n}", "en": f"version test {n}"}
            return await client.patch(f"{service.url(n)}/listings/{offer_id}", json={"title": title}, headers=owner)

        answers = await asyncio.gather(*(change(n) for n in range(20)))
        assert {a.status_code for a in answers} <= {200, 409}, [a.text for a in answers if a.status_code >= 500]
        applied = {a.json()["version"]: a.json()["title"]["en"] for a in answers if a.status_code == 200}
        assert sorted(applied) == list(range(2, 2 + len([a for a in answers if a.status_code == 200])))
        for url in service.urls:
            stored = (await client.get(f"{url}/listings/{offer_id}", headers=owner)).json()
            assert (stored["version"], stored["title"]["en"]) == (max(applied), applied[max(applied)])

        records = await read_records(infra.kafka_bootstrap_servers, topics.LISTINGS.full_name(namespace),
                                     count=1 + len(applied), timeout=60)
        versions: dict[int, set[tuple[str, str]]] = defaultdict(set)
        for record in records:
            event = json.loads(record.value)
            versions[event["data"]["version"]].add((event["id"], event["data"]["title"]["en"]))
        assert {v: {title for _, title in events} for v, events in versions.items()} == \
            {1: {offer["title"]["en"]}, **{v: {title} for v, title in applied.items()}}
        assert [v for v, events in versions.items() if len(events) != 1] == []


async def test_two_matching_projections_list_every_match_of_a_participant(infra: Endpoints, namespace: str):
    """Each matching replica runs a projection process; the two share the output topics'
    partitions, and one participant's matches come from all of them. Two projections (each its
    own client and locks, as two processes) writing 60 matches of one participant at once: all 60
    are listed to them."""
    name = database_name(namespace, "matching")
    clients = [make_client(infra.mongodb_uri) for _ in range(2)]
    stores = [MatchingStore(client[name], source=SOURCE, locks=KeyedLocks(StoreLeases(client[name][LOCKS])))
              for client in clients]
    try:
        await asyncio.gather(*(stores[n % 2].project(new_event("match.created.v1", _match(n, "ent", 0.5),
                                                               source=SOURCE)) for n in range(60)))
        for store in stores:
            page, _ = await store.match_page(viewer="ent", kind=None, min_score=None, status=None, after=None,
                                             limit=100)
            assert sorted(m["_id"] for m in page) == [f"m_{n:03d}" for n in range(60)]
    finally:
        await clients[0].drop_database(name)
        for client in clients:
            await client.close()


async def test_two_monitors_raise_and_clear_an_alert_once_each(infra: Endpoints, namespace: str):
    """Each monitor replica samples the same groups and decides the same alerts: of 10 raises of
    one alert from each, one is stored with its event; then of 10 clearings, one."""
    name = database_name(namespace, "monitor")
    clients = [make_client(infra.mongodb_uri) for _ in range(2)]
    stores = [AlertStore(client[name], KeyedLocks(StoreLeases(client[name][LOCKS]))) for client in clients]
    alert = ActiveAlert(Condition("lag:group-a", "lag", True, "group-a", 5000.0, 1000.0, "group-a is behind",
                                  "group-a 积压"), 1_700_000_000.0)
    try:
        for raised in (True, False):
            await asyncio.gather(*(stores[n % 2].record(alert, raised=raised) for n in range(20)))
        document = await clients[0][name]["alerts"].find_one({"_id": "lag:group-a"})
        assert document is not None
        assert [json.loads(e["value"])["type"] for e in document["_outbox"]] == ["alert.raised.v1", "alert.cleared.v1"]
    finally:
        await clients[0].drop_database(name)
        for client in clients:
            await client.close()


async def store_pending_deliveries(store: Store, receiver: WebhookReceiver) -> set[str]:
    """``RECIPIENTS`` participants taking webhooks (to ``receiver``) and e-mail, each with
    ``MESSAGES_EACH`` messages due now on each channel, stored as the fan-out stores them; their ids."""
    now = datetime.now(UTC)
    deliveries = []
    for r in range(RECIPIENTS):
        recipient = f"p_ent_{r:02d}"
        channels = ChannelPreferences(webhook=WebhookPreference(enabled=True, url=receiver.url(recipient)),
                                      email=EmailPreference(enabled=True, address=f"{recipient}@replicas.example.cn"))
        receiver.secrets[recipient] = secret = new_webhook_secret()
        await store.save_preferences(recipient, Preferences(channels=channels), new_secret=secret, now=now)
        for n in range(MESSAGES_EACH):
            for channel in ("webhook", "email"):
                message_id = f"msg_{recipient}_{n:02d}_{channel}"
                payload = json.dumps({"type": "match.created", "timestamp": now.isoformat(),
                                      "data": {"id": message_id, "recipient": recipient}})
                deliveries.append({"_id": message_id, "channel": channel, "recipient": recipient,
                                   "type": "match.created", "event_id": f"evt_{recipient}_{n:02d}",
                                   "subject": f"match {n}", "created_at": now, "body": f"match {n} of {recipient}",
                                   "payload": payload, "due_at": now})
    await store.add_deliveries(deliveries)
    return {d["_id"] for d in deliveries}


async def test_two_notification_replicas_send_each_delivery_once(infra: Endpoints, registry_topics: CommonSettings,
                                                                 namespace: str):
    """240 webhooks and e-mails waiting in the store when two replicas start together, as after a
    restart of both: each replica reads every pending delivery when it starts, and each message
    reaches its receiver (a local webhook receiver, a local SMTP server) exactly once, its log
    holding the one attempt. A delivery is claimed under its lease in the store (shared/locks.py),
    which one replica takes; the other leaves it."""
    name = database_name(namespace, "notification")
    client = make_client(infra.mongodb_uri)
    store = Store(client[name], KeyedLocks())
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    receiver = WebhookReceiver()
    try:
        async with serving(receiver.app()) as base_url:
            receiver.base_url = base_url
            expected = await store_pending_deliveries(store, receiver)
            async with replicas("notification", namespace, infra, NOTIFICATION_SMTP_HOST="127.0.0.1",
                                NOTIFICATION_SMTP_PORT=str(smtp.port)):
                async def all_delivered() -> bool:
                    return await store.deliveries.count_documents({"status": DELIVERED}) == len(expected)

                await wait_for(all_delivered, timeout=180, what=f"{len(expected)} deliveries recorded as delivered")
            # both replicas stopped: no attempt is still in flight
            webhooks = Counter(r.id for r in receiver.received)
            emails = Counter(m["Message-ID"].strip("<>").removesuffix("@hardtech-express") for m in mailbox.messages)
            twice = {k: n for k, n in (webhooks + emails).items() if n != 1}
            assert twice == {}, f"{len(twice)} of {len(expected)} messages sent more than once"
            assert set(webhooks) | set(emails) == expected
            assert all(r.verified for r in receiver.received)
            logged = {d["_id"]: (d["status"], d["attempt_count"]) async for d in store.deliveries.find({})}
            assert logged == dict.fromkeys(expected, (DELIVERED, 1))
    finally:
        smtp.stop()
        await client.drop_database(name)
        await client.close()
