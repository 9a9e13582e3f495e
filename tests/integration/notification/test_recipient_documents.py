"""A recipient's contact (written by the participants consumer), preferences (the API) and webhook
switch (the delivery worker) are documents of their own, so writers racing on one participant lose
nothing: FerretDB v1 loses concurrent updates to one document and fails one of two racing upserts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from services.notification.domain.preferences import Preferences
from services.notification.storage import Store
from shared.events.common import Language, LocalizedText
from shared.events.listing import ParticipantData
from shared.locks import KeyedLocks
from shared.mongo import make_client
from shared.party_types import PartyType
from shared.settings import CommonSettings

pytestmark = pytest.mark.integration
NOW = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)


@pytest.fixture
async def store(common_settings: CommonSettings) -> AsyncIterator[Store]:
    client = make_client(common_settings.mongodb_uri)
    db = client[f"{common_settings.topic_prefix}recipients"[:60]]
    try:
        yield Store(db, KeyedLocks())
    finally:
        await client.drop_database(db.name)
        await client.close()


def participant(n: int) -> ParticipantData:
    name = LocalizedText(zh=f"参与方{n}", en=f"Party {n}")
    return ParticipantData(id=f"p-{n}", party_type=PartyType.UNIVERSITY, organisation=name, display_name=name,
                           region="310000", email=f"p{n}@example.com", language=Language.EN)


async def test_contact_and_preferences_written_at_once_both_survive(store: Store):
    people = [participant(n) for n in range(20)]
    chosen = Preferences(min_match_score=0.7)

    await asyncio.gather(*(write for p in people for write in (
        store.save_contacts([p]), store.save_preferences(p.id, chosen, new_secret=f"whsec_{p.id}", now=NOW))))

    records = [await store.recipient(p.id) for p in people]
    assert [r.contact.email for r in records] == [p.email for p in people]
    assert [r.preferences for r in records] == [chosen] * 20
    assert [r.webhook_secret for r in records] == [f"whsec_{p.id}" for p in people]


async def test_a_disabled_webhook_is_switched_on_again_by_saving_it(store: Store):
    await store.disable_webhook("p-1", "endpoint answered 410 Gone", NOW)
    assert (await store.recipient("p-1")).webhook_disabled == {"at": NOW,
                                                               "reason": "endpoint answered 410 Gone"}

    on = Preferences.model_validate({"channels": {"webhook": {"enabled": True, "url": "https://hooks.example.com/x"}}})
    await store.save_preferences("p-1", on, new_secret=None, now=NOW)
    assert (await store.recipient("p-1")).webhook_disabled is None


async def test_what_earlier_versions_kept_in_recipients_moves_to_its_own_documents_once(store: Store):
    await store.recipients.insert_many([
        {"_id": "p-old", "contact": {"email": "old@example.com", "language": "en"}, "version": 3,
         "preferences": {"min_match_score": 0.9}, "webhook_secret": "whsec_old",
         "webhook_disabled": {"at": NOW, "reason": "endpoint answered 410 Gone"}},
        {"_id": "p-plain", "contact": {"email": "plain@example.com", "language": "en"}, "version": 1}])

    assert await store.upgrade() == 1
    assert await store.upgrade() == 0

    record = await store.recipient("p-old")
    assert (record.contact.email, record.preferences, record.webhook_secret) == (
        "old@example.com", Preferences(min_match_score=0.9), "whsec_old")
    assert record.webhook_disabled == {"at": NOW, "reason": "endpoint answered 410 Gone"}
    assert await store.recipients.find_one({"_id": "p-old"}) == {
        "_id": "p-old", "contact": {"email": "old@example.com", "language": "en"}, "version": 3}
