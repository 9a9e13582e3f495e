"""MongoDB adapter of the notification service. Every write that fan-out makes is an insert
under a deterministic ``_id`` (or a guarded update), so replaying an event changes nothing."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.notification.domain.preferences import Contact, Preferences
from shared.events.common import Language
from shared.events.listing import ParticipantData
from shared.events.sessions import SessionData
from shared.mongo import ensure_indexes, find_by_ids

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
# After a secret is rotated, webhooks carry the previous secret's signature too for this long.
SECRET_OVERLAP = timedelta(hours=24)


class RecipientRecord:
    """A participant as this service knows them: profile contact, preferences, webhook secret."""

    def __init__(self, document: dict[str, Any] | None):
        document = document or {}
        contact = document.get("contact") or {}
        self.contact = Contact(email=contact.get("email"), webhook_url=contact.get("webhook_url"),
                               language=Language(contact.get("language", Language.ZH_CN)))
        self.preferences = Preferences(**document["preferences"]) if document.get("preferences") else None
        self.webhook_secret: str | None = document.get("webhook_secret")
        self.previous_webhook_secret: dict[str, Any] | None = document.get("previous_webhook_secret")
        self.webhook_disabled: dict[str, Any] | None = document.get("webhook_disabled")

    def webhook_secrets(self, now: datetime) -> list[str]:
        """The secrets a webhook is signed with: the current one, and the one it replaced while
        that one's overlap lasts."""
        secrets = [self.webhook_secret] if self.webhook_secret else []
        previous = self.previous_webhook_secret
        if secrets and previous and previous["until"] > now:
            secrets.append(previous["secret"])
        return secrets


class Store:
    def __init__(self, db: AsyncDatabase):
        self.recipients = db["recipients"]
        self.sessions = db["sessions"]
        self.inbox = db["inbox"]
        self.sequences = db["inbox_sequences"]
        self.deliveries = db["deliveries"]
        self.digests = db["digests"]
        self.digest_items = db["digest_items"]

    async def ensure_indexes(self) -> None:
        await ensure_indexes(self.inbox, IndexModel([("recipient", ASCENDING), ("seq", DESCENDING)]))
        await ensure_indexes(self.deliveries, IndexModel([("status", ASCENDING), ("due_at", ASCENDING)]),
                             IndexModel([("status", ASCENDING), ("failed_at", ASCENDING)]))
        await ensure_indexes(self.digests, IndexModel([("due_at", ASCENDING)]))
        await ensure_indexes(self.digest_items, IndexModel([("digest", ASCENDING)]))

    # --- recipients: contact from the participants topic, preferences from the API ----------

    @staticmethod
    async def _upsert_if_newer(collection: Any, _id: str, version: int, fields: dict[str, Any]) -> None:
        """Keep the newest version only; an older or repeated event is ignored."""
        newer = {"$or": [{"version": {"$lt": version}}, {"version": {"$exists": False}}]}
        try:
            await collection.update_one({"_id": _id, **newer}, {"$set": {**fields, "version": version}}, upsert=True)
        except DuplicateKeyError:  # the document exists with this version or a newer one
            pass

    async def save_contact(self, participant: ParticipantData) -> None:
        contact = {"email": participant.email, "language": participant.language.value,
                   "webhook_url": participant.webhook_url}
        await self._upsert_if_newer(self.recipients, participant.id, participant.version,
                                    {"contact": contact, "name": participant.display_name.model_dump(mode="json")})

    async def recipient(self, participant_id: str) -> RecipientRecord:
        return RecipientRecord(await self.recipients.find_one({"_id": participant_id}))

    async def names(self, participant_ids: set[str]) -> dict[str, dict[str, Any]]:
        found = await find_by_ids(self.recipients, participant_ids, {"name": 1})
        return {d["_id"]: d["name"] for d in found if d.get("name")}

    async def save_preferences(self, participant_id: str, preferences: Preferences, *,
                               new_secret: str | None, now: datetime,
                               secret_overlap: timedelta = SECRET_OVERLAP) -> None:
        fields: dict[str, Any] = {"preferences": preferences.model_dump(mode="json"),
                                  "preferences_updated_at": now}
        update: dict[str, Any] = {"$set": fields}
        if preferences.channels.webhook.enabled:
            # Saving the webhook again is how a participant turns a disabled endpoint back on
            # (disabled by 410 Gone or by failing for the whole retry window).
            update["$unset"] = {"webhook_disabled": ""}
        if new_secret is not None:
            fields["webhook_secret"] = new_secret
            current = await self.recipients.find_one({"_id": participant_id}, {"webhook_secret": 1})
            if current and current.get("webhook_secret"):  # signed with both until receivers switched
                fields["previous_webhook_secret"] = {"secret": current["webhook_secret"], "until": now + secret_overlap}
        await self.recipients.update_one({"_id": participant_id}, update, upsert=True)

    async def disable_webhook(self, participant_id: str, reason: str, now: datetime) -> None:
        await self.recipients.update_one({"_id": participant_id},
                                         {"$set": {"webhook_disabled": {"at": now, "reason": reason}}})

    # --- sessions: titles and times for agendas and registrations ----------------------------

    async def save_session(self, data: SessionData) -> None:
        await self._upsert_if_newer(self.sessions, data.id, data.version, {"data": data.model_dump(mode="json")})

    async def session(self, session_id: str) -> SessionData | None:
        document = await self.sessions.find_one({"_id": session_id})
        return SessionData.model_validate(document["data"]) if document else None

    # --- inbox --------------------------------------------------------------------------------

    async def add_to_inbox(self, entry: dict[str, Any]) -> bool:
        """Insert under the notification id; False when it was there already. ``seq`` orders a
        recipient's inbox for the live stream's ``Last-Event-ID`` (gaps are harmless)."""
        counter = await self.sequences.find_one_and_update({"_id": entry["recipient"]}, {"$inc": {"seq": 1}},
                                                           upsert=True, return_document=ReturnDocument.AFTER)
        try:
            await self.inbox.insert_one({**entry, "seq": counter["seq"], "read": False, "archived": False})
            return True
        except DuplicateKeyError:
            return False

    async def inbox_page(self, recipient: str, *, unread_only: bool, archived: bool, before_seq: int | None,
                         limit: int) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"recipient": recipient, "archived": archived}
        if unread_only:
            query["read"] = False
        if before_seq is not None:
            query["seq"] = {"$lt": before_seq}
        return await self.inbox.find(query).sort("seq", DESCENDING).limit(limit).to_list()

    async def inbox_after(self, recipient: str, seq: int, limit: int = 100) -> list[dict[str, Any]]:
        query = {"recipient": recipient, "seq": {"$gt": seq}}
        return await self.inbox.find(query).sort("seq", ASCENDING).limit(limit).to_list()

    async def latest_seq(self, recipient: str) -> int:
        latest = await self.inbox.find({"recipient": recipient}, {"seq": 1}).sort("seq", DESCENDING).limit(1).to_list()
        return latest[0]["seq"] if latest else 0

    async def unread_count(self, recipient: str) -> int:
        return await self.inbox.count_documents({"recipient": recipient, "read": False, "archived": False})

    async def mark(self, recipient: str, notification_id: str, fields: dict[str, Any]) -> dict[str, Any] | None:
        return await self.inbox.find_one_and_update({"_id": notification_id, "recipient": recipient},
                                                    {"$set": fields}, return_document=ReturnDocument.AFTER)

    # --- deliveries: the due-time store of webhook and e-mail messages --------------------------

    async def add_delivery(self, delivery: dict[str, Any]) -> bool:
        try:
            await self.deliveries.insert_one({"status": PENDING, "attempt_count": 0, "attempts": [],
                                              "lease": None, "failed_at": None, **delivery})
            return True
        except DuplicateKeyError:
            return False

    async def claim_due(self, now: datetime, limit: int, lease_seconds: float) -> list[dict[str, Any]]:
        """Take up to ``limit`` due deliveries, hiding each for ``lease_seconds``: if this process
        dies mid-attempt, the delivery becomes due again and another attempt is made."""
        due = {"status": PENDING, "due_at": {"$lte": now}}
        candidates = await self.deliveries.find(due, {"_id": 1}).sort("due_at", ASCENDING).limit(limit).to_list()
        claimed = []
        for candidate in candidates:
            lease = uuid.uuid4().hex
            document = await self.deliveries.find_one_and_update(
                {"_id": candidate["_id"], **due},
                {"$set": {"lease": lease, "due_at": now + timedelta(seconds=lease_seconds)}},
                return_document=ReturnDocument.AFTER)
            if document is not None:
                claimed.append(document)
        return claimed

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

    _REPLAY = {"status": PENDING, "failed_at": None, "lease": None, "attempt_count": 0}

    async def replay(self, delivery_id: str, now: datetime) -> bool:
        """Send one message again, under the same webhook id; its attempts stay in the log."""
        result = await self.deliveries.update_one({"_id": delivery_id, "status": {"$ne": PENDING}},
                                                  {"$set": {**self._REPLAY, "due_at": now, "replayed_at": now}})
        return result.matched_count == 1

    async def replay_failed_since(self, since: datetime, now: datetime) -> int:
        result = await self.deliveries.update_many({"status": DEAD, "failed_at": {"$gte": since}},
                                                   {"$set": {**self._REPLAY, "due_at": now, "replayed_at": now}})
        return result.modified_count

    # --- digests: notices gathered per recipient and window ------------------------------------

    async def add_digest_item(self, digest: dict[str, Any], item: dict[str, Any]) -> None:
        try:  # the item first: a digest document never exists without what it gathers
            await self.digest_items.insert_one({**item, "digest": digest["_id"]})
        except DuplicateKeyError:
            return
        fields = {k: v for k, v in digest.items() if k != "_id"}
        await self.digests.update_one({"_id": digest["_id"]}, {"$setOnInsert": fields}, upsert=True)

    async def due_digests(self, now: datetime, limit: int = 100) -> list[dict[str, Any]]:
        return await self.digests.find({"due_at": {"$lte": now}}).sort("due_at", ASCENDING).limit(limit).to_list()

    async def digest_items_of(self, digest_id: str) -> list[dict[str, Any]]:
        return await self.digest_items.find({"digest": digest_id}).sort("created_at", ASCENDING).to_list()

    async def drop_digest(self, digest_id: str) -> None:
        await self.digest_items.delete_many({"digest": digest_id})
        await self.digests.delete_one({"_id": digest_id})
