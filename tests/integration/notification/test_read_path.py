"""The inbox on FerretDB's terms: every read a participant waits on is an ``_id`` look-up, the
consumer writes a fetch in a few bulk commands (and a fetch retried after failing part-way adds
nothing twice), and a cursor that is not the caller's to use is a 422 naming it."""

from __future__ import annotations

import asyncio
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
        # 80 entries (both parties of 40 matches): their ids, a tip per recipient and fetch and the
        # full buckets inserted in bulk; the inbox is written by inserts only, never a document per
        # entry, never an update.
        fetches = writes.count(("insert", "inbox_tips"))
        assert 1 <= fetches <= 4 and writes.count(("insert", "inbox_ids")) == fetches
        assert 1 <= writes.count(("insert", "inbox_buckets")) <= fetches
        assert {c for n, c in writes if n == "update"}.isdisjoint({"inbox_ids", "inbox_tips", "inbox_buckets",
                                                                   "inbox_heads", "inbox_moved"})
        assert ("insert", "inbox") not in writes and ("insert", "inbox_moved") not in writes
        # At start-up, the workers read what is pending once and a new database is upgraded once
        # (recipients, inbox heads): the only scans the service makes.
        assert sorted(collection for _, collection, _ in mongo_commands.scans()) == [
            "deliveries", "digests", "inbox_heads", "recipients"]
        tip = await client._transport.app.state.store.inbox_head("p_uni")
        assert (tip.seq, tip.count, tip.version) == (40, 40, fetches - 1)

        # Entries 21-40 are the newest tip's bucket, 1-20 a full bucket: a page is the newest tip
        # this process wrote (or read) and the next version (missing: it is the newest), the full
        # buckets it reaches and the flags of the buckets it shows, by _id.
        mongo_commands.clear()
        first = (await client.get("/inbox", params={"limit": 10}, headers=headers)).json()
        assert mongo_commands.lookups() == {"inbox_tips": 2, "inbox_flags": 1}
        mongo_commands.clear()
        second = (await client.get("/inbox", params={"limit": 10, "cursor": first["next_cursor"]},
                                   headers=headers)).json()
        # (a tip that filled bucket 0 holds its entries too, for as long as it is the newest)
        assert mongo_commands.lookups() == {"inbox_tips": 2, "inbox_flags": 2,
                                            **({} if 20 in tip.kept else {"inbox_buckets": 1})}
        seqs = [e["seq"] for e in first["items"] + second["items"]]
        assert seqs == list(range(40, 20, -1))  # newest first, nothing twice
        mongo_commands.clear()
        assert (await client.get("/inbox/unread-count", headers=headers)).json() == {"unread": 40}
        assert mongo_commands.lookups() == {"inbox_tips": 2, "inbox_reads": 1}
        # A process that has seen none of this inbox (a replica, a restarted service) starts from the
        # head's hint (none below version 7: version 0), probing up to the newest version (0-3 here:
        # the versions 0 and 1, then 2 for a newest 1, then 2, 4 and 3 for a newest 2 or 3), then
        # remembers the version it found.
        elsewhere = Store(client._transport.app.state.store.inbox.database, KeyedLocks())
        probed = {0: 2, 1: 3, 2: 5, 3: 5}[tip.version]
        for lookups in ({"inbox_heads": 1, "inbox_tips": probed, "inbox_reads": 1},
                        {"inbox_tips": 2, "inbox_reads": 1}):
            mongo_commands.clear()
            assert await elsewhere.unread_count("p_uni") == 40
            assert mongo_commands.lookups() == lookups
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
        first = await client.get("/me/deliveries", params={"limit": 10}, headers=mine)
        # the head, then the slot and the document of each of the page's numbers and one more: no
        # slack read without a filter
        assert mongo_commands.lookups() == {"delivery_heads": 1, "delivery_slots": 11, "deliveries": 11}
        mongo_commands.clear()
        pages = await _pages(client, mine, limit=10)
        assert [len(page["items"]) for page in pages] == [10, 10, 5] and pages[0] == first.json()
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
    """An inbox written by an earlier version (a document per entry, the first one not even packed,
    and a head moved per write) goes on: the upgrade at start-up gives it its first tip, new entries
    go into buckets above it, a page shows both, and both are marked."""
    settings = notification_settings()
    mongo = make_client(settings.mongodb_uri)
    db = mongo[settings.database]
    old = {"recipient": "p_uni", "type": "match.created", "event_id": "e_old", "subject": "old",
           "created_at": datetime(2026, 12, 1, tzinfo=UTC), "category": "matches", "language": "zh-CN",
           "body": "old", "read": False, "archived": False}
    await db.inbox_ids.insert_many([{"_id": f"n_old{n}", "recipient": "p_uni", "slot": f"p_uni:{n}"} for n in (1, 2)])
    await db.inbox.insert_many([
        {**old, "_id": "p_uni:1", "notification": "n_old1", "seq": 1, "data": {"match_id": "m_old1"}},
        pack({**old, "_id": "p_uni:2", "notification": "n_old2", "seq": 2, "data": {"match_id": "m_old2"}},
             storage.ENTRY_PACKED)])
    await db.inbox_heads.insert_one({"_id": "p_uni", "seq": 2, "count": 2, "reserved": 2})
    await mongo.close()
    async with running(create_app(settings)) as client:
        store = client._transport.app.state.store
        headers = auth(settings, "p_uni")
        assert (await store.inbox_head("p_uni")) == storage.InboxHead(seq=2, count=2, first=3, version=0)
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


@pytest.mark.parametrize(("bucket", "dies_at"), [(inbox.BUCKET, "inbox_tips"), (1, "inbox_tips"),
                                                 (1, "inbox_buckets")])  # with 1, every write fills buckets
async def test_a_batch_retried_after_failing_part_way_adds_each_entry_once(notification_settings, monkeypatch,
                                                                          bucket, dies_at):
    """The process dies after the ids were inserted (before the tip), or after the tip (before the
    buckets it filled); a new process gets the same records again, in another order, twice."""
    monkeypatch.setattr(inbox, "BUCKET", bucket)
    settings = notification_settings()
    mongo = make_client(settings.mongodb_uri)
    store = Store(mongo[settings.database], KeyedLocks())
    events = [samples.match_created(match_id=f"m_{n}") for n in range(4)]
    try:
        first = FanOut(settings, store, Broadcaster(), Scheduled(), Scheduled())
        await first.handle_batch(events[:1])
        inserting = storage.insert_new

        async def dies_inserting(collection, documents, *args):
            if collection.name == dies_at:
                raise AutoReconnect("the process died here")
            return await inserting(collection, documents, *args)

        monkeypatch.setattr(storage, "insert_new", dies_inserting)
        with pytest.raises(AutoReconnect):
            await first.handle_batch(events[1:3])
        monkeypatch.setattr(storage, "insert_new", inserting)
        again = Store(mongo[settings.database], KeyedLocks())  # a new process
        replaying = FanOut(settings, again, Broadcaster(), Scheduled(), Scheduled())
        replayed = [events[3], events[2], events[1], events[0]]  # another partition's record first, this time
        await replaying.handle_batch(replayed)
        await replaying.handle_batch(replayed)  # and the same fetch once more
        for recipient in ("p_uni", "p_ent"):
            head = await again.inbox_head(recipient)
            entries = await again.slots(recipient, range(1, head.seq + 1))
            assert sorted(e["data"]["match_id"] for e in entries) == ["m_0", "m_1", "m_2", "m_3"]
            assert (head.seq, head.count, await again.unread_count(recipient)) == (4, 4, 4)
            marked = [await again.mark(recipient, e["notification"], {"read": True}) for e in entries]
            assert [m["seq"] for m in marked if m] == [4, 3, 2, 1]
            assert await again.unread_count(recipient) == 0
    finally:
        await mongo.drop_database(settings.database)
        await mongo.close()


async def test_two_writers_of_one_inbox_number_each_entry_once(notification_settings):
    """Two processes (replicas) write one recipient's inbox at once, from different partitions,
    each believing it knows the newest tip: the tips' unique ids decide, and every entry is there
    once, numbered 1..n, and can be marked read."""
    settings = notification_settings()
    mongo = make_client(settings.mongodb_uri)
    stores = [Store(mongo[settings.database], KeyedLocks()) for _ in range(2)]
    fan_outs = [FanOut(settings, s, Broadcaster(), Scheduled(), Scheduled()) for s in stores]
    try:
        await fan_outs[0].handle_batch([samples.match_created(match_id="m_first")])
        await fan_outs[1].handle_batch([samples.match_created(match_id="m_second")])  # not new: read again
        # numbered 2, not 1 as its id was planned: found through ``inbox_moved`` (both parties)
        assert await stores[0].inbox_moved.count_documents({}) == 2
        for round_ in range(3):
            await asyncio.gather(*(f.handle_batch([samples.match_created(match_id=f"m_{round_}_{w}_{n}")
                                                   for n in range(7)]) for w, f in enumerate(fan_outs)))
        head = await stores[0].inbox_head("p_uni")
        entries = await stores[0].slots("p_uni", range(1, head.seq + 1))
        assert (head.seq, head.count, len(entries)) == (44, 44, 44)
        assert sorted(e["seq"] for e in entries) == list(range(1, 45))
        assert len({e["data"]["match_id"] for e in entries}) == 44
        for entry in entries:  # each found through its id, also those numbered again after a conflict
            assert (await stores[1].mark("p_uni", entry["notification"], {"read": True}))["seq"] == entry["seq"]
        assert await stores[0].unread_count("p_uni") == 0
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


def _handled(client, count):
    async def handled() -> bool:
        return sum(c.stats.processed for c in client._transport.app.state.resources.consumers) >= count
    return handled


async def test_a_burst_with_redelivered_records_gives_each_entry_once(notification_settings, producer):
    """Through the broker: a burst in which 15 records come twice, then a restarted service (which
    knows no tip) given more, and old records again: each recipient's inbox holds each entry once,
    numbered without gaps, and the unread count follows reads exactly."""
    settings = notification_settings()
    firsts = [samples.match_created("p_uni", "p_ent", match_id=f"m_{n}") for n in range(30)]
    seconds = [samples.match_created("p_res", "p_ent", match_id=f"r_{n}") for n in range(10)]
    await publish(producer, settings, *firsts, *seconds, *firsts[5:15], *seconds[:5])
    async with running(create_app(settings)) as client:
        await wait_for(_handled(client, 55), what="55 records handled")
        expected = {"p_uni": 30, "p_ent": 40, "p_res": 10}
        for recipient, count in expected.items():
            entries = await _everything(client, settings, recipient)
            assert [e["seq"] for e in entries] == list(range(count, 0, -1))
            assert len({e["data"]["match_id"] for e in entries}) == count
            assert (await client.get("/inbox/unread-count", headers=auth(settings, recipient))).json() == {
                "unread": count}
        ent = auth(settings, "p_ent")
        entries = await _everything(client, settings, "p_ent")
        for entry in entries[:5] + entries[:2]:  # read, two of them twice
            assert (await client.post(f"/inbox/{entry['id']}/read", headers=ent)).status_code == 200
        assert (await client.post(f"/inbox/{entries[0]['id']}/archive", headers=ent)).status_code == 200
        assert (await client.post(f"/inbox/{entries[9]['id']}/archive", headers=ent)).status_code == 200
        assert (await client.get("/inbox/unread-count", headers=ent)).json() == {"unread": 34}
    later = [samples.match_created("p_uni", "p_ent", match_id=f"m_{n}") for n in range(30, 35)]
    async with running(create_app(settings)) as client:  # a new process: it knows no tip
        await publish(producer, settings, *later, *firsts[:5], *later[:2])
        await wait_for(_handled(client, 12), what="12 records handled")
        uni = await _everything(client, settings, "p_uni")
        assert [e["seq"] for e in uni] == list(range(35, 0, -1))
        assert sorted(e["data"]["match_id"] for e in uni) == sorted(f"m_{n}" for n in range(35))
        assert (await client.get("/inbox/unread-count", headers=auth(settings, "p_uni"))).json() == {"unread": 35}
        assert (await client.get("/inbox/unread-count", headers=ent)).json() == {"unread": 39}
        assert [e["seq"] for e in await _everything(client, settings, "p_ent")] == list(range(45, 0, -1))


async def _everything(client, settings, recipient, **params) -> list[dict]:
    """Every page of a recipient's inbox, archived entries included."""
    found = []
    for archived in ("false", "true"):
        cursor = None
        while True:
            response = await client.get("/inbox", params={"limit": 20, "archived": archived, **params,
                                                          **({"cursor": cursor} if cursor else {})},
                                        headers=auth(settings, recipient))
            assert response.status_code == 200, response.text
            found += response.json()["items"]
            if (cursor := response.json()["next_cursor"]) is None:
                break
    return sorted(found, key=lambda e: e["seq"], reverse=True)
