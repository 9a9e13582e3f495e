"""MongoDB adapter of the notification service. Every write that fan-out makes is an insert
under a deterministic ``_id`` (or a guarded update), so replaying an event changes nothing."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, IndexModel, ReturnDocument, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError
from pydantic_core import to_json

from services.notification.domain import inbox
from services.notification.domain.preferences import Contact, Effective, Preferences, effective
from shared.events.common import Language
from shared.events.listing import ParticipantData
from shared.events.sessions import SessionData
from shared.locks import KeyedLocks
from shared.mongo import (BULK_CHUNK, DUPLICATE_KEY, BulkWrites, bulk_write_chunked, ensure_indexes, find_by_ids,
                          insert_new, keep_newest_many, unpack, upsert_one)

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
# After a secret is rotated, webhooks carry the previous secret's signature too for this long.
SECRET_OVERLAP = timedelta(hours=24)
# An inbox entry's event data (a match's parties and explanations) is stored packed: read whole,
# most of the entry's elements (shared.mongo.pack).
ENTRY_PACKED = ("data",)
# What the unread count reads of an inbox's tip.
TIP_COUNTERS = {"v": 1, "seq": 1, "count": 1, "first": 1}
# The head's hint to the newest tip moves to every this many-th version of a recipient's tip: one
# update per recipient per this many writes to their inbox, a reader's probes past it stay few.
TIP_HINT_EVERY = 8
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
# ... and the newest tips of the inboxes it wrote longest ago (each up to a bucket of entries, ~1-2
# KB each) past this many.
KNOWN_INBOXES_MAX = 5_000
# The delivery worker's attempts share one read of the recipients' ``changes`` token per this long
# (a change is seen by deliveries this much later at most, as by the fan-out's next fetch).
RECIPIENTS_FRESH_SECONDS = 0.5  # changes made by this process are seen at once
# The upgrade that gave the inboxes of the earlier layout their first tip.
_INBOX_TIPS = "inbox-tips"


def slot_id(recipient: str, seq: int) -> str:
    return f"{recipient}:{seq}"


def bucket_id(recipient: str, bucket: int) -> str:
    return f"{recipient}:b{bucket}"


def tip_id(recipient: str, version: int) -> str:
    return f"{recipient}:v{version}"


def _bucket(recipient: str, bucket: int, texts: Mapping[int, str]) -> dict[str, Any]:
    return {"_id": bucket_id(recipient, bucket), "recipient": recipient,
            **{inbox.field_of(n): t for n, t in texts.items()}}


def _number(entries: list[dict[str, Any]], heads: Mapping[str, InboxHead]) -> dict[str, int]:
    """The numbers entries get, in their order, above their recipients' ``heads``."""
    following = {r: h.seq for r, h in heads.items()}
    numbers = {}
    for entry in entries:
        following[entry["recipient"]] += 1
        numbers[entry["notification"]] = following[entry["recipient"]]
    return numbers


def _entry(text: str, marks: dict[str, Any], seq: int) -> dict[str, Any]:
    """An entry of a bucket with its flags (``e<seq>_read``, ``e<seq>_read_at`` …)."""
    entry = json.loads(text)
    entry["created_at"] = datetime.fromisoformat(entry["created_at"])
    prefix = inbox.field_of(seq) + "_"
    entry.update({k.removeprefix(prefix): v for k, v in marks.items() if k.startswith(prefix)})
    return entry


@dataclass(frozen=True)
class InboxHead:
    """An inbox as its newest tip has it (all zero and no tip: empty)."""
    seq: int = 0  # the highest sequence number in the inbox (0: empty)
    count: int = 0  # entries ever added
    first: int | None = 1  # the first number kept in buckets (below it: a document each, as before)
    kept: Mapping[int, str] = field(default_factory=dict)  # the entries the tip holds, packed
    version: int = -1  # the tip's version (-1: none yet)

    def bucketed(self, seq: int) -> bool:
        """Whether entry ``seq`` is kept in a bucket (else in a document of its own, as before)."""
        return self.first is not None and seq >= self.first if seq <= self.seq else True


def _head_of(tip: Mapping[str, Any]) -> InboxHead:
    return InboxHead(seq=tip["seq"], count=tip["count"], first=tip.get("first"), version=tip["v"],
                     kept={n: v for k, v in tip.items() if (n := inbox.seq_of(k)) is not None})


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

    @cached_property
    def wants(self) -> Effective:
        """What the fan-out sends them: worked out once per record (a record is read again, not
        changed, when the recipient changes), not once per notice."""
        return effective(self.preferences, self.contact, webhook_disabled=self.webhook_disabled is not None)

    @cached_property
    def wants_regardless_of_disabled(self) -> Effective:
        """``wants`` as if their webhook were on (the delivery worker checks the mark itself)."""
        return effective(self.preferences, self.contact, webhook_disabled=False)

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
        self.inbox_tips = db["inbox_tips"]
        self.inbox_moved = db["inbox_moved"]
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
        self._tips: dict[str, InboxHead] = {}  # the newest tip written per recipient (see ``write_entries``)
        self._attempts = BulkWrites(self.deliveries)  # delivery attempts' records, sent together
        self._refreshing: asyncio.Future[None] | None = None  # the delivery worker's read of the token
        self._refreshed_at = float("-inf")
        self._seen: dict[str, int] = {}  # the newest tip version read per recipient (see ``_newest_tip``)

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
        """The recipient as stored at most ``RECIPIENTS_FRESH_SECONDS`` ago (the delivery worker's
        concurrent attempts share one read of the token, not one each), else their documents."""
        if self._refreshing is None and time.monotonic() - self._refreshed_at >= RECIPIENTS_FRESH_SECONDS:
            self._refreshed_at = time.monotonic()
            self._refreshing = asyncio.ensure_future(self.refresh_known_recipients())
            self._refreshing.add_done_callback(self._refreshed)
        if self._refreshing is not None:
            await asyncio.shield(self._refreshing)
        return (await self.known_recipients([participant_id]))[participant_id]

    def _refreshed(self, refreshing: asyncio.Future[None]) -> None:
        self._refreshing = None
        if refreshing.cancelled() or refreshing.exception() is not None:
            self._refreshed_at = float("-inf")  # the next attempt reads it

    async def _recipients_changed(self) -> None:
        # Concurrent marks may lose one another's token (FerretDB v1), never all: the token moves.
        await upsert_one(self.changes, _RECIPIENTS_CHANGED, {"$set": {"token": uuid.uuid4().hex}})
        # A change made here (the API, the delivery worker) is seen by the next delivery at once, not
        # ``RECIPIENTS_FRESH_SECONDS`` later (an operator turns an endpoint on again, then replays).
        self._refreshed_at = float("-inf")

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

    # --- inbox: per recipient, numbered entries in buckets, written by inserts only ----------------
    #
    # FerretDB v1 answers only ``_id`` look-ups from an index and applies ~100 updates/s against
    # ~2,500 inserted documents/s, so the fan-out writes an inbox by inserts alone and every read is
    # a bounded number of ``_id`` look-ups. Entries are numbered per recipient (``seq`` 1, 2, …) and
    # kept in buckets of ``inbox.BUCKET`` (each entry one packed JSON text under ``e<seq>``). Each
    # write to a recipient's inbox inserts a new *tip* ``inbox_tips[f"{recipient}:v{version}"]``
    # (versions 0, 1, 2, … per recipient): the highest number, how many entries were ever added, and
    # the entries of the newest bucket (copied forward from the previous tip) plus those of any bucket
    # the write filled. The tip's unique ``_id`` is the claim: of two writers that both want version
    # v, one inserts it and the other reads the newest tip and numbers again, so numbers are never
    # given twice, without a lock. After its tip, the writer inserts each bucket the write filled as
    # ``inbox_buckets[f"{recipient}:b{n}"]`` (whoever loads a tip later inserts them again if missing:
    # a writer that died in between). ``inbox_heads[recipient].tip`` is a hint, moved (``$max``) every
    # ``TIP_HINT_EVERY`` versions: a reader finds the newest tip from it by exponential probing, a few
    # look-ups, or, for a recipient this process has seen, from the newest version it saw (``_seen``,
    # without the hint). The fan-out remembers each recipient's newest tip it wrote (``_tips``), so a
    # warm write reads nothing; a recipient it does not know yet is taken to be new (its tip version 0):
    # when that insert finds a tip there, the recipient's newest tip is read and its entries are
    # numbered again.
    #
    # Redelivered records add nothing twice: ``inbox_ids[notification]`` (unique) is inserted before
    # the tip, with the number planned for it. When it is there already, the entry is stored if its
    # slot (or, for one numbered again after a conflict, the slot in ``inbox_moved[notification]``)
    # holds that notification; otherwise an earlier attempt died before its tip and the entry is
    # written now. An entry's read and archived flags are ``inbox_flags[f"{recipient}:b{n}"]``; how
    # many entries left the unread state is ``inbox_reads[recipient]``, written by the API under the
    # recipient's ``("inbox_reads", recipient)`` lock. Entries written before the buckets (numbers
    # below ``first``) stay one document each in ``inbox`` and are read as they are; inboxes of the
    # earlier layout (a head document holding the newest bucket) get their tip version 0 at start-up
    # (``upgrade_inbox``).

    async def inbox_head(self, recipient: str, *, entries: bool = True) -> InboxHead:
        """The recipient's newest tip; with the newest bucket's entries unless ``entries`` is False."""
        tip = await self._newest_tip(recipient, None if entries else TIP_COUNTERS)
        return InboxHead() if tip is None else _head_of(tip)

    async def _newest_tip(self, recipient: str, projection: Mapping[str, Any] | None) -> dict[str, Any] | None:
        """The tip with the highest version: from the newest version this process has seen of the
        recipient's (a tip it wrote or read: versions only grow, so that is where the newest is
        probed from, without the head), else from the head's hint; the next versions probed at
        distances 1, 2, 4 … until one is missing, then halving the gap (``2 log2(lag)`` look-ups at
        most, the lag below ``TIP_HINT_EVERY`` but after a writer died)."""
        seen = max(self._seen.get(recipient, -1), self._tips[recipient].version if recipient in self._tips else -1)
        if seen >= 0:
            at_low, after = await asyncio.gather(self._tip(recipient, seen, projection),
                                                 self._tip(recipient, seen + 1, projection))
            if at_low is None:  # not there (the database was replaced): from the hint, as if never seen
                self._seen.pop(recipient, None)
                self._tips.pop(recipient, None)
                return await self._newest_tip(recipient, projection)
            low = seen
        else:
            hint = await self.inbox_heads.find_one({"_id": recipient}, {"tip": 1})
            low = (hint or {}).get("tip", 0)
            at_low, after = await asyncio.gather(self._tip(recipient, low, projection),
                                                 self._tip(recipient, low + 1, projection))
            if at_low is None:
                return None  # no tip yet: an empty inbox
        best = at_low
        if after is not None:
            best, low, step = after, low + 1, 1
            while (probe := await self._tip(recipient, low + step, projection)) is not None:
                best, low, step = probe, low + step, step * 2
            high = low + step
            while high - low > 1:
                middle = (low + high) // 2
                if (probe := await self._tip(recipient, middle, projection)) is not None:
                    best, low = probe, middle
                else:
                    high = middle
        self._saw(recipient, best["v"])
        return best

    def _saw(self, recipient: str, version: int) -> None:
        """Remember the newest tip version seen of a recipient's (past ``KNOWN_INBOXES_MAX``
        recipients, the half seen longest ago is forgotten)."""
        self._seen.pop(recipient, None)  # to the end: the order is when each was seen last
        self._seen[recipient] = version
        if len(self._seen) > KNOWN_INBOXES_MAX:
            for forgotten in list(self._seen)[:KNOWN_INBOXES_MAX // 2]:
                del self._seen[forgotten]

    async def _tip(self, recipient: str, version: int, projection: Mapping[str, Any] | None) -> dict[str, Any] | None:
        return await self.inbox_tips.find_one({"_id": tip_id(recipient, version)}, projection)

    async def _load(self, recipient: str) -> InboxHead:
        """The recipient's newest tip, for writing: the buckets it filled are inserted if missing
        (their writer may have died after the tip), and only the newest bucket's entries are kept."""
        tip = await self._newest_tip(recipient, None)
        if tip is None:
            return InboxHead()
        head = _head_of(tip)
        newest = inbox.bucket_of(head.seq)
        closed, kept = inbox.layout({}, dict(head.kept), head.seq)
        await insert_new(self.inbox_buckets, [_bucket(recipient, b, texts) for b, texts in closed.items()])
        return replace(head, kept={n: t for n, t in kept.items() if inbox.bucket_of(n) == newest})

    async def write_entries(self, entries: list[dict[str, Any]]) -> dict[str, int]:
        """Add inbox entries (each with ``notification`` and ``recipient``), numbered per recipient in
        their order, by inserts: their ids, one tip per recipient, the buckets they filled. Return
        how many entries each recipient got (an entry already stored, from a redelivered record, is
        not added again). When it raises, the recipients are read again by the next attempt."""
        entries = list({e["notification"]: e for e in reversed(entries)}.values())[::-1]  # first of each
        if not entries:
            return {}
        recipients = {e["recipient"] for e in entries}
        try:
            return await self._write_entries(entries)
        except BaseException:
            for recipient in recipients:
                self._tips.pop(recipient, None)
            raise

    async def _write_entries(self, entries: list[dict[str, Any]]) -> dict[str, int]:
        heads = {r: self._tips.get(r, InboxHead()) for r in {e["recipient"] for e in entries}}
        planned = _number(entries, heads)
        there = await insert_new(self.inbox_ids, [{"_id": e["notification"], "recipient": e["recipient"],
                                                   "slot": slot_id(e["recipient"], planned[e["notification"]])}
                                                  for e in entries])
        # the slots each entry's id claims (an entry is stored where one of them holds it)
        claims = {e["notification"]: {planned[e["notification"]]} for e in entries if e["notification"] not in there}
        if there:
            entries, claimed = await self._not_stored(entries, there, heads)
            claims.update(claimed)
        pending: dict[str, list[dict[str, Any]]] = {}
        for entry in entries:
            pending.setdefault(entry["recipient"], []).append(entry)
        added = {r: len(mine) for r, mine in pending.items()}
        written: dict[str, InboxHead] = {}
        while pending:
            tips: list[dict[str, Any]] = []
            buckets: list[dict[str, Any]] = []
            moved: list[tuple[str, str]] = []
            for recipient, mine in pending.items():
                head = heads[recipient]
                new = {head.seq + 1 + i: e for i, e in enumerate(mine)}
                texts = {n: to_json({**e, "seq": n, "read": False, "archived": False}).decode() for n, e in new.items()}
                closed, kept = inbox.layout(dict(head.kept), texts, head.seq + len(new))
                tip = InboxHead(seq=head.seq + len(new), count=head.count + len(new), first=head.first, kept=kept,
                                version=head.version + 1)
                tips.append({"_id": tip_id(recipient, tip.version), "recipient": recipient, "v": tip.version,
                             "seq": tip.seq, "count": tip.count, "first": tip.first,
                             **{inbox.field_of(n): t for b in closed.values() for n, t in b.items()},
                             **{inbox.field_of(n): t for n, t in kept.items()}})
                buckets += [_bucket(recipient, b, t) for b, t in closed.items()]
                written[recipient] = tip
                moved += [(e["notification"], slot_id(recipient, n)) for n, e in new.items()
                          if n not in claims[e["notification"]]]
            # An entry numbered otherwise than its id says is found through ``inbox_moved``, written
            # before the tip like the id (a slot that does not hold the entry claims nothing).
            await self._moved(moved)
            for notification, slot in moved:
                claims[notification].add(int(slot.rsplit(":", 1)[1]))
            there = await insert_new(self.inbox_tips, tips)
            taken = {t["recipient"] for t in tips if t["_id"] in there}
            await insert_new(self.inbox_buckets, [b for b in buckets if b["recipient"] not in taken])
            for recipient in pending.keys() - taken:
                tip = written[recipient]
                self._tips.pop(recipient, None)  # to the end: the order is when each was written last
                self._tips[recipient] = replace(tip, kept={n: t for n, t in tip.kept.items()
                                                           if inbox.bucket_of(n) == inbox.bucket_of(tip.seq)})
            # Another writer took these versions (or the recipient was not new): read and number again.
            again = sorted(taken)
            heads.update(zip(again, await asyncio.gather(*map(self._load, again)), strict=True))
            pending = {r: pending[r] for r in again}
        await self._move_hints(written)
        if len(self._tips) > KNOWN_INBOXES_MAX:  # forget the half written to longest ago
            for recipient in list(self._tips)[:KNOWN_INBOXES_MAX // 2]:
                del self._tips[recipient]
        return added

    async def _not_stored(self, entries: list[dict[str, Any]], there: set[str],
                          heads: dict[str, InboxHead]) -> tuple[list[dict[str, Any]], dict[str, set[int]]]:
        """Of ``entries``, those not stored yet, and the slots the ids of those in ``there`` claim
        (inserted before: stored if one of their slots holds them). Their recipients' ``heads`` are
        read (their newest tips)."""
        pointers = await find_by_ids(self.inbox_ids, there) + await find_by_ids(self.inbox_moved, there)
        claims: dict[str, set[int]] = {}
        for pointer in pointers:
            claims.setdefault(pointer["_id"], set()).add(int(pointer["slot"].rsplit(":", 1)[1]))
        recipients = sorted({e["recipient"] for e in entries if e["notification"] in claims})
        heads.update(zip(recipients, await asyncio.gather(*map(self._load, recipients)), strict=True))
        stored: set[str] = set()
        claimed: dict[str, set[str]] = {}
        for entry in entries:
            if entry["notification"] in claims:
                claimed.setdefault(entry["recipient"], set()).add(entry["notification"])
        for recipient, mine in claimed.items():
            numbers = {n for m in mine for n in claims[m]}
            found = await self.slots(recipient, numbers, heads[recipient])
            stored.update(f["notification"] for f in found if f["notification"] in mine
                          and f["seq"] in claims[f["notification"]])
        return ([e for e in entries if e["notification"] not in stored],
                {n: c for n, c in claims.items() if n not in stored})

    async def _moved(self, moved: list[tuple[str, str]]) -> None:
        there = await insert_new(self.inbox_moved, [{"_id": n, "slot": s} for n, s in moved])
        await bulk_write_chunked(self.inbox_moved, [UpdateOne({"_id": n}, {"$set": {"slot": s}})
                                                    for n, s in moved if n in there])

    async def _move_hints(self, written: dict[str, InboxHead]) -> None:
        """Move the heads' hints to every ``TIP_HINT_EVERY``-th version (a lost or refused move only
        costs readers a look-up or two)."""
        hints = [UpdateOne({"_id": r}, {"$max": {"tip": h.version}}, upsert=True)
                 for r, h in written.items() if (h.version + 1) % TIP_HINT_EVERY == 0]
        try:
            await bulk_write_chunked(self.inbox_heads, hints)
        except BulkWriteError as exc:  # two writers inserting one head
            if any(e.get("code") != DUPLICATE_KEY for e in exc.details.get("writeErrors", [])):
                raise

    async def upgrade_inbox(self) -> int:
        """Give every inbox of the earlier layout (a head holding counters and the newest bucket,
        moved per write) its tip version 0, so the fan-out numbers on from it; how many. Runs once
        per database (a scan on FerretDB v1); a crash midway repeats it, and the inserts are
        idempotent."""
        if await self.upgrades.find_one({"_id": _INBOX_TIPS}) is not None:
            return 0
        tips = []
        async for document in self.inbox_heads.find({"$or": [{"seq": {"$exists": True}},
                                                              {"reserved": {"$exists": True}}]}):
            head = await self._recovered_head(document)
            newest = inbox.bucket_of(head.seq) if head.seq else 0
            tips.append({"_id": tip_id(document["_id"], 0), "recipient": document["_id"], "v": 0, "seq": head.seq,
                         "count": head.count, "first": head.seq + 1 if head.first is None else head.first,
                         **{inbox.field_of(n): t for n, t in head.kept.items() if inbox.bucket_of(n) == newest}})
        await insert_new(self.inbox_tips, tips)
        await upsert_one(self.upgrades, _INBOX_TIPS, {"$set": {"inboxes": len(tips)}})
        return len(tips)

    async def _recovered_head(self, document: dict[str, Any]) -> InboxHead:
        """An earlier layout's head as that layout resumed it: entries written in (seq, reserved] by
        a run that died before it moved the head are counted."""
        recipient, seq, reserved = document["_id"], document.get("seq", 0), document.get("reserved", 0)
        kept = {n: v for k, v in document.items() if (n := inbox.seq_of(k)) is not None}
        head = InboxHead(seq=seq, count=document.get("count", 0), first=document.get("first"), kept=kept)
        if reserved <= seq:
            return head
        numbers = range(seq + 1, reserved + 1)
        if head.first is None:  # written before the buckets: one document per entry
            found = len(await find_by_ids(self.inbox, [slot_id(recipient, n) for n in numbers], {"_id": 1}))
        else:  # only full buckets are written before the head moves
            buckets = await find_by_ids(self.inbox_buckets, {bucket_id(recipient, inbox.bucket_of(n)) for n in numbers})
            found = sum(1 for b in buckets for k in b if (n := inbox.seq_of(k)) is not None and n in numbers)
        return replace(head, seq=reserved, count=head.count + found)

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
        async with self.locks.hold(("inbox_reads", recipient)):
            head = await self.inbox_head(recipient)
            entry = await self._entry_at(recipient, notification_id, pointer["slot"], head)
            if entry is None:  # numbered again after its id was written (a conflict): moved
                moved = await self.inbox_moved.find_one({"_id": notification_id})
                entry = moved and await self._entry_at(recipient, notification_id, moved["slot"], head)
            if entry is None:
                return None
            seq = entry["seq"]
            if not head.bucketed(seq):
                return await self._mark_document(recipient, slot_id(recipient, seq), fields)
            await upsert_one(self.inbox_flags, bucket_id(recipient, inbox.bucket_of(seq)),
                             {"$set": {f"{inbox.field_of(seq)}_{k}": v for k, v in fields.items()}})
            if not entry["read"] and not entry["archived"]:
                await self.inbox_reads.update_one({"_id": recipient}, {"$inc": {"left": 1}}, upsert=True)
            return {**entry, **fields}

    async def _entry_at(self, recipient: str, notification_id: str, slot: str,
                        head: InboxHead) -> dict[str, Any] | None:
        """The entry in ``slot`` if it is that notification's."""
        found = await self.slots(recipient, [int(slot.rsplit(":", 1)[1])], head)
        return found[0] if found and found[0]["notification"] == notification_id else None

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

    async def add_deliveries(self, deliveries: list[dict[str, Any]], *,
                             claimed_for: timedelta | None = None) -> list[dict[str, Any]]:
        """Store new deliveries in a few bulk commands, each numbered in its recipient's list (see
        ``my_deliveries``); those that were not there already. ``claimed_for``: stored claimed by
        the caller (a lease, as ``claim`` sets, due again in the store only when it runs out), so
        their first attempt needs no claim of its own: the documents returned carry the lease and
        the due time the caller keeps."""
        lease = uuid.uuid4().hex if claimed_for is not None else None
        documents = [{"status": PENDING, "attempt_count": 0, "attempts": [], "lease": lease, "failed_at": None, **d}
                     for d in deliveries]
        await self._number_deliveries(documents)
        there = await insert_new(self.deliveries, self._claimed(documents, claimed_for))
        numbered = [d for d in documents if d["_id"] not in there]
        # a delivery a previous attempt of this batch stored keeps its number: its slot is written now
        numbered += [d for d in await find_by_ids(self.deliveries, there, {"recipient": 1, "seq": 1}) if "seq" in d]
        await insert_new(self.delivery_slots, [{"_id": slot_id(d["recipient"], d["seq"]), "delivery": d["_id"]}
                                                     for d in numbered])
        return [d for d in documents if d["_id"] not in there]

    def _claimed(self, documents: list[dict[str, Any]], claimed_for: timedelta | None) -> list[dict[str, Any]]:
        """``documents`` as stored: claimed, due in the store when the claim runs out."""
        if claimed_for is None:
            return documents
        return [{**d, "due_at": d["due_at"] + claimed_for} for d in documents]

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
        """Record an attempt and release the claim; concurrent attempts' records go in one bulk
        command (FerretDB v1 applies ~100 updates/s: one command per attempt capped deliveries)."""
        await self._attempts.write(UpdateOne({"_id": delivery_id, "lease": lease},
                                             {"$set": {**fields, "lease": None}, "$push": {"attempts": attempt},
                                              "$inc": {"attempt_count": 1}}))

    async def stop_recording(self) -> None:
        await self._attempts.close()

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
