"""The inbox on FerretDB's terms: every read a participant waits on is an ``_id`` look-up, the
consumer writes a fetch in a few bulk commands (and a fetch retried after failing part-way adds
nothing twice), and a cursor that is not the caller's to use is a 422 naming it."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
from pymongo.errors import AutoReconnect

from services.notification import storage
from services.notification.app import create_app
from services.notification.domain import inbox
from services.notification.domain.preferences import Preferences, new_webhook_secret
from services.notification.events import FanOut
from services.notification.live import Broadcaster
from services.notification.storage import Store
from shared.locks import KeyedLocks
from shared.mongo import make_client, pack
from tests.integration.notification.conftest import auth, enable_webhook, inbox_of, publish
from tests.support import running, wait_for
from tests.unit.notification import samples

pytestmark = pytest.mark.integration


async def test_inbox_reads_are_id_lookups_and_a_fetch_is_written_in_bulk(notification_settings, producer,
                                                                        mongo_commands):
    settings = notification_settings()
    matches = [samples.match_created(match_id=f"m_{n}") for n in range(40)]
    await publish(producer, settings, *matches)  # before the service starts: they come in few fetches
    async with running(create_app(settings)) as client:
        headers = auth(settings, "p_uni")
        await wait_for(lambda: _unread(client, headers, 40), what="forty notices")
        writes = [(name, collection) for name, collection, _ in mongo_commands.commands
                  if name in ("insert", "update")]
        # 80 entries (both parties of 40 matches): their ids and the full buckets inserted in bulk,
        # each head moved with its newest bucket in one update; never a document per entry.
        assert 1 <= writes.count(("insert", "inbox_ids")) <= 4
        assert 1 <= writes.count(("insert", "inbox_buckets")) <= 4
        assert ("insert", "inbox") not in writes
        # At start-up, the workers read what is pending once and a new database is upgraded once
        # (recipients): the only scans the service makes.
        assert sorted(collection for _, collection, _ in mongo_commands.scans()) == [
            "deliveries", "digests", "recipients"]

        # Entries 21-40 are the head's newest bucket, 1-20 a full bucket: a page is the head, the
        # full buckets it reaches and the flags of the buckets it shows, by _id.
        mongo_commands.clear()
        first = (await client.get("/inbox", params={"limit": 10}, headers=headers)).json()
        assert mongo_commands.lookups() == {"inbox_heads": 1, "inbox_flags": 1}
        mongo_commands.clear()
        second = (await client.get("/inbox", params={"limit": 10, "cursor": first["next_cursor"]},
                                   headers=headers)).json()
        assert mongo_commands.lookups() == {"inbox_heads": 1, "inbox_buckets": 1, "inbox_flags": 2}
        seqs = [e["seq"] for e in first["items"] + second["items"]]
        assert seqs == list(range(40, 20, -1))  # newest first, nothing twice
        mongo_commands.clear()
        assert (await client.get("/inbox/unread-count", headers=headers)).json() == {"unread": 40}
        assert mongo_commands.lookups() == {"inbox_heads": 1, "inbox_reads": 1}
        read = await client.post(f"/inbox/{first['items'][0]['id']}/read", headers=headers)
        archived = await client.post(f"/inbox/{second['items'][-1]['id']}/archive", headers=headers)
        assert read.json()["read"] and archived.json()["archived"]
        assert (read.json()["seq"], archived.json()["seq"]) == (40, 21)
        assert (await client.get("/inbox/unread-count", headers=headers)).json() == {"unread": 38}
        assert [e["id"] for e in await inbox_of(client, settings, "p_uni", archived="true")] == [archived.json()["id"]]
        unread = await inbox_of(client, settings, "p_uni", unread="true")
        assert len(unread) == 38 and read.json()["id"] not in {e["id"] for e in unread}
        everything = await inbox_of(client, settings, "p_uni")
        assert [e["seq"] for e in everything] == list(range(40, 21, -1)) + list(range(20, 0, -1))
        assert len({e["data"]["match_id"] for e in everything}) == 39  # all but the archived one
        assert mongo_commands.filters() and mongo_commands.scans() == []


async def test_a_cursor_that_is_not_the_callers_is_refused(notification_settings, producer):
    settings = notification_settings()
    async with running(create_app(settings)) as client:
        await publish(producer, settings, *[samples.match_created(match_id=f"m_{n}") for n in range(3)])
        mine, theirs = auth(settings, "p_uni"), auth(settings, "p_ent")
        await wait_for(lambda: _unread(client, mine, 3), what="three notices")
        cursor = (await client.get("/inbox", params={"limit": 1}, headers=mine)).json()["next_cursor"]
        owner, view, at = json.loads(base64.urlsafe_b64decode(cursor))
        beyond = base64.urlsafe_b64encode(json.dumps([owner, view, at + 100]).encode()).decode()
        for params, headers, message in [
            ({"cursor": cursor}, theirs, "another participant"),
            ({"cursor": cursor, "unread": "true"}, mine, "another view"),
            ({"cursor": beyond}, mine, "stale cursor"),
            ({"cursor": base64.urlsafe_b64encode(b'["x", 1]').decode()}, mine, "invalid cursor"),
            ({"cursor": "!!"}, mine, "invalid cursor"),
        ]:
            response = await client.get("/inbox", params=params, headers=headers)
            assert response.status_code == 422, (params, response.text)
            [problem] = response.json()["detail"]
            assert problem["loc"] == ["query", "cursor"] and message in problem["msg"]


async def test_my_deliveries_are_id_lookups_newest_first(notification_settings, producer, receiver,
                                                         mongo_commands):
    settings = notification_settings()
    async with running(create_app(settings)) as client:
        await enable_webhook(client, settings, receiver, "p_ent")
        await publish(producer, settings, *[samples.match_created("p_uni", "p_ent", match_id=f"m_{n}")
                                            for n in range(25)])
        mine, theirs = auth(settings, "p_ent"), auth(settings, "p_uni")
        await wait_for(lambda: _delivered(client, mine, 25), what="25 webhooks delivered")

        mongo_commands.clear()
        pages = await _pages(client, mine, limit=10)
        assert [len(page["items"]) for page in pages] == [10, 10, 5]
        seen = [d["id"] for page in pages for d in page["items"]]
        assert sorted(seen) == sorted({hook.id for hook in receiver.of("p_ent")}) and len(set(seen)) == 25
        assert [d["channel"] for page in pages for d in page["items"]] == ["webhook"] * 25
        assert all(d["attempts"][0]["error"] is None for page in pages for d in page["items"])
        assert await _pages(client, mine, status="pending") == [{"items": [], "next_cursor": None}]
        assert await _pages(client, theirs) == [{"items": [], "next_cursor": None}]
        assert mongo_commands.filters() and mongo_commands.scans() == []

        cursor = pages[0]["next_cursor"]
        owner, view, at = json.loads(base64.urlsafe_b64decode(cursor))
        beyond = base64.urlsafe_b64encode(json.dumps([owner, view, at + 100]).encode()).decode()
        for params, headers, message in [
            ({"cursor": cursor}, theirs, "another participant"),
            ({"cursor": cursor, "status": "delivered"}, mine, "another view"),
            ({"cursor": beyond}, mine, "stale cursor"),
            ({"cursor": "!!"}, mine, "invalid cursor"),
        ]:
            response = await client.get("/me/deliveries", params=params, headers=headers)
            assert response.status_code == 422, (params, response.text)
            [problem] = response.json()["detail"]
            assert problem["loc"] == ["query", "cursor"] and message in problem["msg"]


async def _delivered(client, headers, count):
    pages = await _pages(client, headers, status="delivered", limit=100)
    return sum(len(page["items"]) for page in pages) >= count


async def _pages(client, headers, **params):
    """Every page of /me/deliveries."""
    pages, cursor = [], None
    while True:
        response = await client.get("/me/deliveries", params={**params, **({"cursor": cursor} if cursor else {})},
                                    headers=headers)
        assert response.status_code == 200, response.text
        pages.append(response.json())
        cursor = pages[-1]["next_cursor"]
        if cursor is None:
            return pages


async def _unread(client, headers, count):
    return (await client.get("/inbox/unread-count", headers=headers)).json()["unread"] >= count


class Scheduled:
    def __init__(self) -> None:
        self.documents: list[dict] = []

    def schedule(self, documents: list[dict]) -> None:
        self.documents += documents


async def test_entries_stored_before_the_buckets_are_read_and_marked_where_they_are(notification_settings,
                                                                                      producer):
    """An inbox written by an earlier version (a document per entry, the first one not even packed)
    goes on: new entries go into buckets above it, a page shows both, and both are marked."""
    settings = notification_settings()
    async with running(create_app(settings)) as client:
        store = client._transport.app.state.store
        headers = auth(settings, "p_uni")
        old = {"recipient": "p_uni", "type": "match.created", "event_id": "e_old", "subject": "old",
               "created_at": datetime(2026, 12, 1, tzinfo=UTC), "category": "matches", "language": "zh-CN",
               "body": "old", "read": False, "archived": False}
        await store.inbox_ids.insert_many([{"_id": f"n_old{n}", "recipient": "p_uni", "slot": f"p_uni:{n}"}
                                           for n in (1, 2)])
        await store.inbox.insert_many([
            {**old, "_id": "p_uni:1", "notification": "n_old1", "seq": 1, "data": {"match_id": "m_old1"}},
            pack({**old, "_id": "p_uni:2", "notification": "n_old2", "seq": 2, "data": {"match_id": "m_old2"}},
                 storage.ENTRY_PACKED)])
        await store.inbox_heads.insert_one({"_id": "p_uni", "seq": 2, "count": 2, "reserved": 2})
        await publish(producer, settings, samples.match_created(match_id="m_new"))
        await wait_for(lambda: _unread(client, headers, 3), what="a new notice")
        entries = await inbox_of(client, settings, "p_uni")
        assert [(e["seq"], e["data"]["match_id"]) for e in entries] == [(3, "m_new"), (2, "m_old2"), (1, "m_old1")]
        assert (await store.inbox_head("p_uni")).first == 3
        for entry in entries[:2]:
            marked = await client.post(f"/inbox/{entry['id']}/read", headers=headers)
            assert marked.status_code == 200 and marked.json() == {**entry, "read": True}
        assert (await client.get("/inbox/unread-count", headers=headers)).json() == {"unread": 1}
        assert [e["seq"] for e in await inbox_of(client, settings, "p_uni", unread="true")] == [1]


@pytest.mark.parametrize("bucket", [inbox.BUCKET, 1])  # with 1, the head dies after full buckets were written
async def test_a_batch_retried_after_failing_part_way_adds_each_entry_once(notification_settings, monkeypatch,
                                                                          bucket):
    monkeypatch.setattr(inbox, "BUCKET", bucket)
    settings = notification_settings()
    mongo = make_client(settings.mongodb_uri)
    store = Store(mongo[settings.database], KeyedLocks())
    events = [samples.match_created(match_id=f"m_{n}") for n in range(3)]
    try:
        first = FanOut(settings, store, Broadcaster(), Scheduled(), Scheduled())
        moving_heads = storage.bulk_write_chunked

        async def dies_moving_the_heads(collection, requests):
            if collection.name == "inbox_heads" and any("$set" in r._doc for r in requests):
                raise AutoReconnect("the process died here")
            return await moving_heads(collection, requests)

        monkeypatch.setattr(storage, "bulk_write_chunked", dies_moving_the_heads)
        with pytest.raises(AutoReconnect):
            await first.handle_batch(events[:2])  # entries written, heads not moved
        monkeypatch.setattr(storage, "bulk_write_chunked", moving_heads)
        again = FanOut(settings, store, Broadcaster(), Scheduled(), Scheduled())  # a new process
        replayed = [events[2], events[0], events[1]]  # another partition's record first, this time
        await again.handle_batch(replayed)
        await again.handle_batch(replayed)  # and the same fetch once more
        for recipient in ("p_uni", "p_ent"):
            head = await store.inbox_head(recipient)
            entries = await store.slots(recipient, range(1, head.seq + 1))
            assert sorted(e["data"]["match_id"] for e in entries) == ["m_0", "m_1", "m_2"]
            assert (head.count, await store.unread_count(recipient)) == (3, 3)
    finally:
        await mongo.drop_database(settings.database)
        await mongo.close()


async def test_a_replayed_session_or_participant_is_kept_once_not_dead_lettered(notification_settings):
    """After a crash the consumer reads its last records again: storing a session or a contact it
    already holds (same version) changes nothing and raises nothing (FerretDB v1 answers that bulk
    upsert without ``nModified``, which made the consumer dead-letter the record)."""
    settings = notification_settings()
    mongo = make_client(settings.mongodb_uri)
    store = Store(mongo[settings.database], KeyedLocks())
    session, participant = samples.session("s_replayed").data, samples.participant("p_replayed").data
    try:
        for _ in range(2):
            await store.save_sessions([session])
            await store.save_contacts([participant])
        assert (await store.session("s_replayed")) == session
        assert (await store.recipient("p_replayed")).contact.email == participant.email
    finally:
        await mongo.drop_database(settings.database)
        await mongo.close()


async def test_the_fan_out_reads_a_recipient_once_until_one_changes(notification_settings, monkeypatch):
    """A fetch reads each recipient's documents once, and later fetches read them again only after
    some recipient changed, here through another process's store (the API of a replica)."""
    settings = notification_settings()
    mongo = make_client(settings.mongodb_uri)
    store, elsewhere = (Store(mongo[settings.database], KeyedLocks()) for _ in range(2))
    read: list[str] = []
    reading = store.recipient

    async def counted(participant_id):
        read.append(participant_id)
        return await reading(participant_id)

    monkeypatch.setattr(store, "recipient", counted)
    deliveries = Scheduled()
    fan_out = FanOut(settings, store, Broadcaster(), deliveries, Scheduled())
    try:
        await fan_out.handle_batch([samples.match_created(match_id="m_0"), samples.match_created(match_id="m_1")])
        await fan_out.handle_batch([samples.match_created(match_id="m_2")])
        assert sorted(read) == ["p_ent", "p_uni"]  # once each, for names and preferences, in both fetches
        webhook = Preferences.model_validate({"channels": {"webhook": {"enabled": True,
                                                                        "url": "https://hooks.example.com/uni"}}})
        await elsewhere.save_preferences("p_uni", webhook, new_secret=new_webhook_secret(), now=datetime.now(UTC))
        await fan_out.handle_batch([samples.match_created(match_id="m_3")])
        assert sorted(read) == ["p_ent", "p_ent", "p_uni", "p_uni"]
        assert [(d["recipient"], d["channel"]) for d in deliveries.documents] == [("p_uni", "webhook")]
        assert (await store.delivery(deliveries.documents[0]["_id"]))["payload"].count('"match_id":"m_3"') == 1
        await fan_out.handle_batch([samples.match_created(match_id="m_4")])
        assert len(read) == 4 and len(deliveries.documents) == 2
        assert (await store.inbox_head("p_uni")).count == 5
    finally:
        await mongo.drop_database(settings.database)
        await mongo.close()
