"""MongoDB adapter of the notification service. Every write that fan-out makes is an insert
under a deterministic ``_id`` (or a guarded update), so replaying an event changes nothing."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, IndexModel, ReturnDocument, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError
from pydantic_core import to_json

from services.notification.domain import inbox
from services.notification.domain.preferences import Contact, Preferences
from shared.events.common import Language
from shared.events.listing import ParticipantData
from shared.events.sessions import SessionData
from shared.locks import KeyedLocks
from shared.mongo import (BULK_CHUNK, DUPLICATE_KEY, bulk_write_chunked, ensure_indexes, find_by_ids, insert_new,
                          keep_newest_many, unpack, upsert_one)

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
# After a secret is rotated, webhooks carry the previous secret's signature too for this long.
SECRET_OVERLAP = timedelta(hours=24)
# An inbox entry's event data (a match's parties and explanations) is stored packed: read whole,
# most of the entry's elements (shared.mongo.pack).
ENTRY_PACKED = ("data",)
# What the unread count reads of an inbox's head.
HEAD_COUNTERS = {"seq": 1, "count": 1, "reserved": 1, "first": 1}
# What the delivery worker's schedule holds of a delivery.
SCHEDULED = {"_id": 1, "due_at": 1, "recipient": 1, "channel": 1}
# The upgrade that moved what the API and the delivery worker write out of ``recipients``.
_SETTINGS_APART = "recipient-settings-apart"
_LEGACY_FIELDS = ("preferences", "preferences_updated_at", "webhook_secret", "previous_webhook_secret",
                  "webhook_disabled")
# The ``changes`` document every writer of a recipient's documents marks (see ``known_recipients``).
_RECIPIENTS_CHANGED = "recipients"
# The fan-out forgets what it knows of recipients when it knows this many (memory stays bounded).
KNOWN_RECIPIENTS_MAX = 100_000


def slot_id(recipient: str, seq: int) -> str:
    return f"{recipient}:{seq}"


def bucket_id(recipient: str, bucket: int) -> str:
    return f"{recipient}:b{bucket}"


def _entry(text: str, marks: dict[str, Any], seq: int) -> dict[str, Any]:
    """An entry of a bucket with its flags (``e<seq>_read``, ``e<seq>_read_at`` …)."""
    entry = json.loads(text)
    entry["created_at"] = datetime.fromisoformat(entry["created_at"])
    prefix = inbox.field_of(seq) + "_"
    entry.update({k.removeprefix(prefix): v for k, v in marks.items() if k.startswith(prefix)})
    return entry


@dataclass(frozen=True)
class InboxHead:
    seq: int  # the highest sequence number in the inbox (0: empty)
    count: int  # entries ever added
    reserved: int  # the highest sequence number a write may have used
    first: int | None = None  # the first number kept in buckets (None: none yet, all are documents)
    kept: Mapping[int, str] = field(default_factory=dict)  # the newest bucket's entries, packed

    def bucketed(self, seq: int) -> bool:
        """Whether entry ``seq`` is kept in a bucket (else in a document of its own, as before)."""
        return self.first is not None and seq >= self.first if seq <= self.seq else True


class RecipientRecord:
    """A participant as this service knows them: profile contact, preferences, webhook secret, and
    whether their webhook is switched off. Each part is its own document with one writer: the
    participants consumer writes ``recipients``, the API ``recipient_settings``, the delivery worker
    ``webhooks_disabled`` (the API only deletes it): FerretDB v1 loses concurrent updates to one document."""

    def __init__(self, contact: dict[str, Any] | None, settings: dict[str, Any] | None,
                 webhook_disabled: dict[str, Any] | None):
        self.name: dict[str, Any] | None = (contact or {}).get("name")  # the display name, from the profile
        known = (contact or {}).get("contact") or {}
        self.contact = Contact(email=known.get("email"), webhook_url=known.get("webhook_url"),
                               language=Language(known.get("language", Language.ZH_CN)))
        settings = settings or {}
        self.preferences = Preferences(**settings["preferences"]) if settings.get("preferences") else None
        self.webhook_secret: str | None = settings.get("webhook_secret")
        self.previous_webhook_secret: dict[str, Any] | None = settings.get("previous_webhook_secret")
        self.webhook_disabled = webhook_disabled

    def webhook_secrets(self, now: datetime) -> list[str]:
        """The secrets a webhook is signed with: the current one, and the one it replaced while
        that one's overlap lasts."""
        secrets = [self.webhook_secret] if self.webhook_secret else []
        previous = self.previous_webhook_secret
        if secrets and previous and previous["until"] > now:
            secrets.append(previous["secret"])
        return secrets


class Store:
    def __init__(self, db: AsyncDatabase, locks: KeyedLocks):
        self.recipients = db["recipients"]
        self.recipient_settings = db["recipient_settings"]
        self.webhooks_disabled = db["webhooks_disabled"]
        self.upgrades = db["upgrades"]
        self.sessions = db["sessions"]
        self.inbox = db["inbox"]
        self.inbox_ids = db["inbox_ids"]
        self.inbox_heads = db["inbox_heads"]
        self.inbox_reads = db["inbox_reads"]
        self.inbox_buckets = db["inbox_buckets"]
        self.inbox_flags = db["inbox_flags"]
        self.deliveries = db["deliveries"]
        self.delivery_heads = db["delivery_heads"]
        self.delivery_slots = db["delivery_slots"]
        self.digests = db["digests"]
        self.changes = db["changes"]
        self.locks = locks  # per document, across processes (shared/locks.py)
        self._known: dict[str, RecipientRecord] = {}  # see ``known_recipients``
        self._known_token: object = object()  # the ``changes`` token they were read under (none yet)

    async def ensure_indexes(self) -> None:
        # For the scans made once at start-up (pending deliveries) and by operators' replays.
        await ensure_indexes(self.deliveries, IndexModel([("status", ASCENDING), ("due_at", ASCENDING)]),
                             IndexModel([("status", ASCENDING), ("failed_at", ASCENDING)]))

    # --- recipients: contact from the participants topic, preferences from the API ----------

    async def save_contacts(self, participants: list[ParticipantData]) -> None:
        await keep_newest_many(self.recipients, [
            (p.id, p.version, {"contact": {"email": p.email, "language": p.language.value,
                                           "webhook_url": p.webhook_url},
                               "name": p.display_name.model_dump(mode="json")}) for p in participants])
        if participants:
            await self._recipients_changed()

    async def recipient(self, participant_id: str) -> RecipientRecord:
        contact, settings, disabled = await asyncio.gather(
            self.recipients.find_one({"_id": participant_id}),
            self.recipient_settings.find_one({"_id": participant_id}),
            self.webhooks_disabled.find_one({"_id": participant_id}, {"_id": 0}))
        return RecipientRecord(contact, settings, disabled)

    # The fan-out reads each recipient's three documents once, not once per notice: it keeps what it
    # read until any recipient changes. Every writer of those documents (here, in any process) marks
    # ``changes[recipients]`` with a new token after writing; the fan-out reads that one document per
    # fetch, before its recipients, and forgets all it knew when the token moved. A write that lands
    # while a fetch is handled is seen by the next fetch at the latest, as without the memory.

    async def refresh_known_recipients(self) -> None:
        """Forget the recipients read before if any of them changed since (one ``_id`` lookup)."""
        mark = await self.changes.find_one({"_id": _RECIPIENTS_CHANGED})
        token = mark["token"] if mark else None
        if token != self._known_token or len(self._known) > KNOWN_RECIPIENTS_MAX:
            self._known.clear()
            self._known_token = token

    async def known_recipients(self, participant_ids: Iterable[str]) -> dict[str, RecipientRecord]:
        """The recipients as read since the last ``refresh_known_recipients``; those not read yet are now."""
        wanted = set(participant_ids)
        known = {p: self._known[p] for p in wanted if p in self._known}  # a refresh may clear them meanwhile
        missing = sorted(wanted - known.keys())
        read = dict(zip(missing, await asyncio.gather(*map(self.recipient, missing)), strict=True))
        self._known.update(read)
        return {**known, **read}

    async def current_recipient(self, participant_id: str) -> RecipientRecord:
        """The recipient as stored now: one lookup while no recipient changed, else their documents."""
        await self.refresh_known_recipients()
        return (await self.known_recipients([participant_id]))[participant_id]

    async def _recipients_changed(self) -> None:
        # Concurrent marks may lose one another's token (FerretDB v1), never all: the token moves.
        await upsert_one(self.changes, _RECIPIENTS_CHANGED, {"$set": {"token": uuid.uuid4().hex}})

    async def names(self, participant_ids: set[str]) -> dict[str, dict[str, Any]]:
        found = await self.known_recipients(participant_ids)
        return {p: r.name for p, r in found.items() if r.name}

    async def save_preferences(self, participant_id: str, preferences: Preferences, *,
                               new_secret: str | None, now: datetime,
                               secret_overlap: timedelta = SECRET_OVERLAP) -> None:
        fields: dict[str, Any] = {"preferences": preferences.model_dump(mode="json"),
                                  "preferences_updated_at": now}
        if new_secret is not None:
            fields["webhook_secret"] = new_secret
            current = await self.recipient_settings.find_one({"_id": participant_id}, {"webhook_secret": 1})
            if current and current.get("webhook_secret"):  # signed with both until receivers switched
                fields["previous_webhook_secret"] = {"secret": current["webhook_secret"], "until": now + secret_overlap}
        await upsert_one(self.recipient_settings, participant_id, {"$set": fields})
        if preferences.channels.webhook.enabled:
            # Saving the webhook again is how a participant turns a disabled endpoint back on
            # (disabled by 410 Gone or by failing for the whole retry window).
            await self.webhooks_disabled.delete_one({"_id": participant_id})
        await self._recipients_changed()

    async def disable_webhook(self, participant_id: str, reason: str, now: datetime) -> None:
        await upsert_one(self.webhooks_disabled, participant_id, {"$set": {"at": now, "reason": reason}})
        await self._recipients_changed()

    async def upgrade(self) -> int:
        """Preferences, secrets and the disabled mark that earlier versions kept in ``recipients``
        move to their own documents; how many recipients. Runs once per database (a scan on
        FerretDB v1); a crash midway repeats it, and the copies are idempotent."""
        if await self.upgrades.find_one({"_id": _SETTINGS_APART}) is not None:
            return 0
        upgraded = 0
        async for document in self.recipients.find({"$or": [{f: {"$exists": True}} for f in _LEGACY_FIELDS]}):
            settings = {f: document[f] for f in ("preferences", "preferences_updated_at", "webhook_secret",
                                                 "previous_webhook_secret") if f in document}
            if settings:
                await upsert_one(self.recipient_settings, document["_id"], {"$setOnInsert": settings})
            if disabled := document.get("webhook_disabled"):
                await upsert_one(self.webhooks_disabled, document["_id"], {"$setOnInsert": disabled})
            await self.recipients.update_one({"_id": document["_id"]}, {"$unset": dict.fromkeys(_LEGACY_FIELDS, "")})
            upgraded += 1
        await upsert_one(self.upgrades, _SETTINGS_APART, {"$set": {"recipients": upgraded}})
        if upgraded:
            await self._recipients_changed()
        return upgraded

    # --- sessions: titles and times for agendas and registrations ----------------------------

    async def save_sessions(self, sessions: list[SessionData]) -> None:
        await keep_newest_many(self.sessions, [(s.id, s.version, {"data": s.model_dump(mode="json")})
                                                  for s in sessions])

    async def session(self, session_id: str) -> SessionData | None:
        document = await self.sessions.find_one({"_id": session_id})
        return SessionData.model_validate(document["data"]) if document else None

    # --- inbox: per recipient, a head document holding the newest bucket of entries --------------
    #
    # FerretDB v1 answers only ``_id`` lookups from an index, so every inbox read is a bounded number
    # of them. Entries are numbered per recipient and kept in buckets of ``inbox.BUCKET`` (each entry
    # one packed JSON text under ``e<seq>``): the head ``inbox_heads[recipient]`` holds the last
    # sequence number, how many entries were ever added, and the newest bucket's entries; each full
    # bucket below it is ``inbox_buckets[f"{recipient}:b{n}"]``. An entry's read and archived flags
    # are ``inbox_flags[f"{recipient}:b{n}"]``; how many entries left the unread state is
    # ``inbox_reads[recipient]``. A page of the newest entries is the head and about ``limit / BUCKET``
    # buckets with their flags; the unread count is the head and the reads. Entries written before
    # the buckets (numbers below the head's ``first``, or all of a head without it) stay one
    # document each in ``inbox`` and are read as they are. The fan-out consumer is the only writer of
    # heads and buckets, under the recipient's ``("inbox", recipient)`` lock (its replicas share the
    # partitions), the API the only writer of flags and reads, under ``("inbox_reads", recipient)``:
    # the locks hold across processes (shared/locks.py); FerretDB v1 loses concurrent updates to one
    # document.

    async def inbox_head(self, recipient: str, *, entries: bool = True) -> InboxHead:
        """The recipient's head; with the newest bucket's entries unless ``entries`` is False."""
        head = await self.inbox_heads.find_one({"_id": recipient}, None if entries else HEAD_COUNTERS) or {}
        seq = head.get("seq", 0)
        kept = {n: v for k, v in head.items() if (n := inbox.seq_of(k)) is not None}
        return InboxHead(seq=seq, count=head.get("count", 0), reserved=head.get("reserved", 0),
                         first=head.get("first"), kept=kept)

    async def recovered_head(self, recipient: str) -> InboxHead:
        """The head as the consumer resumes it: entries written in (seq, reserved] by a run that died
        before it moved the head are counted, and their numbers are never given out again."""
        head = await self.inbox_head(recipient)
        if head.reserved <= head.seq:
            return head
        numbers = range(head.seq + 1, head.reserved + 1)
        if head.first is None:  # written before the buckets: one document per entry
            found = len(await find_by_ids(self.inbox, [slot_id(recipient, n) for n in numbers], {"_id": 1}))
        else:  # only full buckets are written before the head moves
            buckets = await find_by_ids(self.inbox_buckets, {bucket_id(recipient, inbox.bucket_of(n)) for n in numbers})
            found = sum(1 for b in buckets for k in b if (n := inbox.seq_of(k)) is not None and n in numbers)
        return InboxHead(seq=head.reserved, count=head.count + found, reserved=head.reserved, first=head.first,
                         kept=head.kept)

    async def reserve(self, reservations: dict[str, int]) -> None:
        """Record the highest sequence number about to be used per recipient, before using it. A new
        inbox keeps every entry in buckets (``first``); one that has a head already says so when
        it is first written to (``$min``), so its older entries are read where they are."""
        await bulk_write_chunked(self.inbox_heads, [
            UpdateOne({"_id": r}, {"$max": {"reserved": n}, "$setOnInsert": {"first": 1}}, upsert=True)
            for r, n in reservations.items()])

    async def write_entries(self, entries: list[dict[str, Any]], heads: dict[str, InboxHead]) -> dict[str, InboxHead]:
        """Add inbox entries (each with ``recipient`` and a tentative ``seq`` above its head, in
        order) in a few bulk commands; return the heads after them, once they are stored.

        A notification already in an inbox (a replayed event) keeps the number it has and is
        written again only where it is missing, so retrying a batch is harmless. Full buckets are
        inserted first, then each head is moved with its newest bucket in one update."""
        entries = list({e["notification"]: e for e in reversed(entries)}.values())[::-1]  # first of each
        if not entries:
            return {}
        pointers = [{"_id": e["notification"], "recipient": e["recipient"], "slot": slot_id(e["recipient"], e["seq"])}
                    for e in entries]
        known = await insert_new(self.inbox_ids, pointers)
        if known:
            existing = {p["_id"]: p for p in await find_by_ids(self.inbox_ids, known)}
            for entry in entries:
                if entry["notification"] in known:  # keep the number the first attempt gave it
                    entry["seq"] = int(existing[entry["notification"]]["slot"].rsplit(":", 1)[1])
        # A number at or below the (recovered) head was given by an earlier attempt: written then
        # unless missing from its bucket now; one below the buckets' first is an older document's.
        again = [e for e in entries if e["seq"] <= heads[e["recipient"]].seq]
        stored = await self._stored(again, heads)
        added: dict[str, dict[int, str]] = {}
        for entry in entries:
            head = heads[entry["recipient"]]
            if entry["seq"] <= head.seq and (not head.bucketed(entry["seq"]) or entry["notification"] in stored):
                continue
            text = to_json({**entry, "read": False, "archived": False}).decode()
            added.setdefault(entry["recipient"], {})[entry["seq"]] = text
        moved: dict[str, InboxHead] = {}
        full: list[dict[str, Any]] = []
        updates = []
        for recipient, new in added.items():
            head = heads[recipient]
            seq = max(head.seq, *new)
            buckets, kept = inbox.layout(dict(head.kept), new, seq)
            full += [{"_id": bucket_id(recipient, b), "recipient": recipient,
                      **{inbox.field_of(n): text for n, text in texts.items()}} for b, texts in buckets.items()]
            moved[recipient] = InboxHead(seq=seq, count=head.count + len(new), reserved=max(head.reserved, seq),
                                         first=min(head.first or seq, *new), kept=kept)
            update: dict[str, Any] = {
                "$set": {"seq": seq, "count": moved[recipient].count,
                         **{inbox.field_of(n): t for n, t in kept.items() if n in new}},
                "$max": {"reserved": seq}, "$min": {"first": min(new)}}
            if gone := [n for n in head.kept if n not in kept]:
                update["$unset"] = {inbox.field_of(n): "" for n in gone}
            updates.append(UpdateOne({"_id": recipient}, update, upsert=True))
        there = await insert_new(self.inbox_buckets, full)
        if there:  # full already (a retried batch), or missing what a failed attempt left out
            await bulk_write_chunked(self.inbox_buckets, [
                UpdateOne({"_id": b["_id"]}, {"$set": {k: v for k, v in b.items() if k != "_id"}})
                for b in full if b["_id"] in there])
        await bulk_write_chunked(self.inbox_heads, updates)
        return moved

    async def _stored(self, entries: list[dict[str, Any]], heads: dict[str, InboxHead]) -> set[str]:
        """Which of these entries (numbered at or below their head) are in their buckets."""
        wanted = [e for e in entries if heads[e["recipient"]].bucketed(e["seq"])]
        ids = {bucket_id(e["recipient"], inbox.bucket_of(e["seq"])) for e in wanted
               if e["seq"] not in heads[e["recipient"]].kept}
        buckets = {b["_id"]: b for b in await find_by_ids(self.inbox_buckets, ids)}
        return {e["notification"] for e in wanted
                if e["seq"] in heads[e["recipient"]].kept
                or inbox.field_of(e["seq"]) in buckets.get(bucket_id(e["recipient"], inbox.bucket_of(e["seq"])), {})}

    async def slots(self, recipient: str, numbers: Iterable[int],
                    head: InboxHead | None = None) -> list[dict[str, Any]]:
        """The entries with these sequence numbers, highest first (numbers never written are
        skipped): from ``head`` (read when not given), the full buckets and the flags they need."""
        head = head or await self.inbox_head(recipient)
        wanted = [n for n in numbers if 0 < n <= head.seq]
        older = [n for n in wanted if not head.bucketed(n)]
        newer = [n for n in wanted if head.bucketed(n)]
        full = {inbox.bucket_of(n) for n in newer if n not in head.kept} - {inbox.bucket_of(head.seq)}
        documents, buckets, flags = await asyncio.gather(
            find_by_ids(self.inbox, [slot_id(recipient, n) for n in older]),
            find_by_ids(self.inbox_buckets, [bucket_id(recipient, b) for b in full]),
            find_by_ids(self.inbox_flags, {bucket_id(recipient, inbox.bucket_of(n)) for n in newer}))
        texts = dict(head.kept)
        for bucket in buckets:
            texts.update((n, v) for k, v in bucket.items() if (n := inbox.seq_of(k)) is not None)
        marks = {k: v for document in flags for k, v in document.items()}
        found = [unpack(d, ENTRY_PACKED) for d in documents]
        found += [_entry(texts[n], marks, n) for n in newer if n in texts]
        return sorted(found, key=lambda d: d["seq"], reverse=True)

    async def unread_count(self, recipient: str) -> int:
        head, reads = await asyncio.gather(self.inbox_head(recipient, entries=False),
                                           self.inbox_reads.find_one({"_id": recipient}))
        return max(0, head.count - (reads or {}).get("left", 0))

    async def mark(self, recipient: str, notification_id: str, fields: dict[str, Any]) -> dict[str, Any] | None:
        """Set ``read`` or ``archived`` on one of the recipient's entries; an entry leaving the
        unread state is counted once."""
        pointer = await self.inbox_ids.find_one({"_id": notification_id})
        if pointer is None or pointer["recipient"] != recipient:
            return None
        seq = int(pointer["slot"].rsplit(":", 1)[1])
        async with self.locks.hold(("inbox_reads", recipient)):
            head = await self.inbox_head(recipient)
            if not head.bucketed(seq):
                return await self._mark_document(recipient, pointer["slot"], fields)
            found = await self.slots(recipient, [seq], head)
            if not found:
                return None
            entry = found[0]
            await upsert_one(self.inbox_flags, bucket_id(recipient, inbox.bucket_of(seq)),
                             {"$set": {f"{inbox.field_of(seq)}_{k}": v for k, v in fields.items()}})
            if not entry["read"] and not entry["archived"]:
                await self.inbox_reads.update_one({"_id": recipient}, {"$inc": {"left": 1}}, upsert=True)
            return {**entry, **fields}

    async def _mark_document(self, recipient: str, slot: str, fields: dict[str, Any]) -> dict[str, Any] | None:
        """``mark`` for an entry written before the buckets, one document of its own."""
        document = await self.inbox.find_one({"_id": slot})
        if document is None:
            return None
        leaves_unread = not document["read"] and not document["archived"]
        document = await self.inbox.find_one_and_update({"_id": slot}, {"$set": fields},
                                                         return_document=ReturnDocument.AFTER)
        if leaves_unread:
            await self.inbox_reads.update_one({"_id": recipient}, {"$inc": {"left": 1}}, upsert=True)
        return None if document is None else unpack(document, ENTRY_PACKED)

    # --- deliveries: the due-time store of webhook and e-mail messages --------------------------

    async def add_deliveries(self, deliveries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Store new deliveries in a few bulk commands, each numbered in its recipient's list (see
        ``my_deliveries``); those that were not there already."""
        documents = [{"status": PENDING, "attempt_count": 0, "attempts": [], "lease": None, "failed_at": None, **d}
                     for d in deliveries]
        await self._number_deliveries(documents)
        there = await insert_new(self.deliveries, documents)
        numbered = [d for d in documents if d["_id"] not in there]
        # a delivery a previous attempt of this batch stored keeps its number: its slot is written now
        numbered += [d for d in await find_by_ids(self.deliveries, there, {"recipient": 1, "seq": 1}) if "seq" in d]
        await insert_new(self.delivery_slots, [{"_id": slot_id(d["recipient"], d["seq"]), "delivery": d["_id"]}
                                                     for d in numbered])
        return [d for d in documents if d["_id"] not in there]

    async def pending_deliveries(self) -> list[dict[str, Any]]:
        """Every pending delivery's id and due time: read once, when the delivery worker starts."""
        return await self.deliveries.find({"status": PENDING}, SCHEDULED).to_list()

    async def claim(self, delivery_id: str, now: datetime, lease_seconds: float) -> dict[str, Any] | None:
        """Take one due delivery, hiding it for ``lease_seconds``: if this process dies mid-attempt,
        the delivery is due again when the worker starts anew. Called under the delivery's lock
        (FerretDB v1 may let two concurrent ones both match)."""
        return await self.deliveries.find_one_and_update(
            {"_id": delivery_id, "status": PENDING, "due_at": {"$lte": now}},
            {"$set": {"lease": uuid.uuid4().hex, "due_at": now + timedelta(seconds=lease_seconds)}},
            return_document=ReturnDocument.AFTER)

    async def record_attempt(self, delivery_id: str, lease: str, attempt: dict[str, Any],
                             fields: dict[str, Any]) -> None:
        await self.deliveries.update_one({"_id": delivery_id, "lease": lease},
                                         {"$set": {**fields, "lease": None}, "$push": {"attempts": attempt},
                                          "$inc": {"attempt_count": 1}})

    async def delivery(self, delivery_id: str) -> dict[str, Any] | None:
        return await self.deliveries.find_one({"_id": delivery_id})

    async def deliveries_page(self, status: str | None, after_id: str | None, limit: int) -> list[dict[str, Any]]:
        query: dict[str, Any] = {}
        if status:
            query["status"] = status
        if after_id:
            query["_id"] = {"$gt": after_id}
        return await self.deliveries.find(query, {"payload": 0, "body": 0}).sort("_id", ASCENDING) \
            .limit(limit).to_list()

    # A participant's deliveries, like the inbox, are numbered: ``delivery_heads[recipient]`` holds
    # the highest number given, ``delivery_slots[f"{recipient}:{n}"]`` the id of the n-th delivery.
    # The fan-out consumer is their only writer. It moves the head before it stores the deliveries,
    # so a number is never given twice; a batch that failed part-way leaves gaps, which pages skip.

    async def _number_deliveries(self, documents: list[dict[str, Any]]) -> None:
        recipients = {d["recipient"] for d in documents}
        heads = {h["_id"]: h["seq"] for h in await find_by_ids(self.delivery_heads, recipients)}
        for document in documents:
            heads[document["recipient"]] = document["seq"] = heads.get(document["recipient"], 0) + 1
        await bulk_write_chunked(self.delivery_heads, [UpdateOne({"_id": r}, {"$max": {"seq": n}}, upsert=True)
                                                       for r, n in heads.items()])

    async def delivery_head(self, recipient: str) -> int:
        """The highest number in the recipient's list of deliveries (0: none)."""
        head = await self.delivery_heads.find_one({"_id": recipient})
        return 0 if head is None else head["seq"]

    async def my_deliveries(self, recipient: str, numbers: Iterable[int]) -> list[dict[str, Any]]:
        """The recipient's deliveries with these numbers, highest first, without their messages."""
        slots = await find_by_ids(self.delivery_slots, [slot_id(recipient, n) for n in numbers])
        found = await find_by_ids(self.deliveries, [s["delivery"] for s in slots], {"payload": 0, "body": 0})
        return sorted((d for d in found if d["recipient"] == recipient), key=lambda d: d["seq"], reverse=True)

    _REPLAY = {"status": PENDING, "failed_at": None, "lease": None, "attempt_count": 0}

    async def replay(self, delivery_id: str, now: datetime) -> bool:
        """Send one message again, under the same webhook id; its attempts stay in the log."""
        result = await self.deliveries.update_one({"_id": delivery_id, "status": {"$ne": PENDING}},
                                                  {"$set": {**self._REPLAY, "due_at": now, "replayed_at": now}})
        return result.matched_count == 1

    async def replay_failed_since(self, since: datetime, now: datetime) -> list[dict[str, Any]]:
        """Make the deliveries that failed since then pending again; what a scheduler needs of them."""
        failed = {"status": DEAD, "failed_at": {"$gte": since}}
        replayed = await self.deliveries.find(failed, SCHEDULED).to_list()
        await self.deliveries.update_many(failed, {"$set": {**self._REPLAY, "due_at": now, "replayed_at": now}})
        return [{**d, "due_at": now} for d in replayed]

    # --- digests: notices gathered per recipient and window ------------------------------------

    async def add_digest_items(self, items: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
        """Gather (digest, item) pairs: each digest document holds its items, so sending it is one
        lookup. An item already gathered (a replayed event) is not added twice. The digests' locks are
        held: the replicas' consumers gather items for one digest from different partitions."""
        requests = [UpdateOne({"_id": digest["_id"], "items._id": {"$ne": item["_id"]}},
                              {"$setOnInsert": {k: v for k, v in digest.items() if k != "_id"},
                               "$push": {"items": item}}, upsert=True)
                    for digest, item in items]
        async with self.locks.hold_all(("digest", digest["_id"]) for digest, _ in items):
            for start in range(0, len(requests), BULK_CHUNK):
                try:
                    await self.digests.bulk_write(requests[start:start + BULK_CHUNK], ordered=False)
                except BulkWriteError as exc:  # the upsert of a digest that holds the item already
                    if any(e.get("code") != DUPLICATE_KEY for e in exc.details.get("writeErrors", [])):
                        raise

    async def pending_digests(self) -> list[dict[str, Any]]:
        """Every digest's id and due time: read once, when the digest worker starts."""
        return await self.digests.find({}, {"_id": 1, "due_at": 1}).to_list()

    async def digest(self, digest_id: str) -> dict[str, Any] | None:
        return await self.digests.find_one({"_id": digest_id})

    async def drop_digest(self, digest_id: str) -> None:
        await self.digests.delete_one({"_id": digest_id})
