"""The read model written from the service's output events in batches over the real store:
several events of one entity in one batch fold into one write with the state their sequence
gives, later batches update what earlier ones inserted, and agendas (with nested must-meet
pairs, which FerretDB v1 cannot store as arrays) come back whole."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest

from services.matching.ledger import SOURCE
from services.matching.settings import Settings
from services.matching.storage import MatchingStore
from shared.events import new_event
from shared.events.matching import AgendaData, AgendaSlot, Meeting, MatchRetractedData, RetractReason
from shared.locks import KeyedLocks
from shared.mongo import make_client, unpack
from tests.integration.matching.test_api import _match

pytestmark = pytest.mark.integration


@pytest.fixture
async def store(make_settings):
    settings = make_settings(Settings)
    client = make_client(settings.mongodb_uri)
    yield MatchingStore(client[settings.database], source=SOURCE, locks=KeyedLocks())
    await client.close()


def _retracted(n: int, reason: RetractReason, for_participant: str | None = None) -> MatchRetractedData:
    match = _match(n, "ent", 0.5)
    return MatchRetractedData(match_id=match.match_id, kind=match.kind, offer=match.offer, need=match.need,
                              reason=reason, for_participant=for_participant)


async def test_events_of_one_match_fold_into_the_state_their_sequence_gives(store: MatchingStore):
    first, second = _match(1, "ent", 0.6), _match(2, "ent", 0.7)
    await store.project_many([
        new_event("match.created.v1", first, source=SOURCE),
        new_event("match.retracted.v1", _retracted(1, RetractReason.DECLINED, "ent"), source=SOURCE),
        new_event("match.created.v1", second, source=SOURCE),
        new_event("match.retracted.v1", _retracted(2, RetractReason.OFFER_WITHDRAWN), source=SOURCE),
        new_event("match.retracted.v1", _retracted(3, RetractReason.DECLINED, "ent"), source=SOURCE),
    ])
    one, two = await store.match("m_001"), await store.match("m_002")
    assert (one["status"], one["hidden_for"], one["score"]) == ("active", ["ent"], 0.6)
    assert (two["status"], two["reason"], two["data"]["score"]) == ("retracted", "offer_withdrawn", 0.7)
    assert await store.match("m_003") is None  # hidden for someone, never created: nothing to show

    rescored = first.model_copy(update={"score": 0.65})
    await store.project_many([
        new_event("match.updated.v1", rescored, source=SOURCE),
        new_event("match.retracted.v1", _retracted(1, RetractReason.DECLINED, "uni1"), source=SOURCE),
        new_event("match.created.v1", second, source=SOURCE),
    ])
    one, two = await store.match("m_001"), await store.match("m_002")
    assert (one["status"], sorted(one["hidden_for"]), one["score"]) == ("active", ["ent", "uni1"], 0.65)
    assert (two["status"], two["reason"]) == ("active", None)
    page, _ = await store.match_page(viewer="ent", kind=None, min_score=None, status="active", after=None, limit=10)
    assert [d["_id"] for d in page] == ["m_002"]


async def test_an_agenda_with_unscheduled_must_meet_pairs_is_stored_and_read_back(store: MatchingStore):
    start = datetime(2026, 7, 1, 9, tzinfo=UTC)
    agenda = AgendaData(session_id="s1", version=1,
                        slots=[AgendaSlot(index=0, starts_at=start, ends_at=start + timedelta(minutes=20))],
                        meetings=[Meeting(slot=0, table=0, participant_ids=["a", "b"], score=0.5)],
                        unscheduled_must_meet=[("a", "c"), ("b", "c")])
    await store.project_many([new_event("agenda.published.v1", agenda, source=SOURCE)])
    assert await store.agenda("s1") == agenda
    replanned = agenda.model_copy(update={"version": 2, "unscheduled_must_meet": []})
    await store.project_many([new_event("agenda.updated.v1", replanned, source=SOURCE)])
    assert await store.agenda("s1") == replanned
    assert await store.agenda("s2") is None


async def test_a_batch_updating_hundreds_of_documents_completes(store: MatchingStore):
    """FerretDB v1 deadlocked on one update command of ~100 statements (its connection pool);
    the projection writes updates in smaller commands."""
    matches = [_match(n, "ent", 0.5) for n in range(1, 301)]
    await store.project_many(new_event("match.created.v1", m, source=SOURCE) for m in matches)
    rescored = [m.model_copy(update={"score": 0.8}) for m in matches]
    await asyncio.wait_for(store.project_many(new_event("match.updated.v1", m, source=SOURCE) for m in rescored),
                           timeout=60)
    assert {(await store.match(m.match_id))["score"] for m in matches[::50]} == {0.8}


async def test_a_matchs_data_is_stored_packed_and_one_stored_before_is_packed_when_it_changes(store: MatchingStore):
    first = _match(1, "ent", 0.6)
    await store.project_many([new_event("match.created.v1", first, source=SOURCE)])
    stored = await store.matches.find_one({"_id": "m_001"})
    assert "data" not in stored and json.loads(stored["data_json"]) == first.model_dump(mode="json")
    # as stored before the data was packed: still read, listed and paged, and packed on its next change
    await store.matches.replace_one({"_id": "m_001"}, unpack(stored, ["data"]))
    assert (await store.match("m_001"))["data"] == first.model_dump(mode="json")
    documents, _ = await store.match_page(viewer="ent", kind=None, min_score=None, status=None, after=None, limit=5)
    assert [d["data"]["score"] for d in documents] == [0.6]
    documents, _ = await store.match_page(viewer=None, kind=None, min_score=None, status=None, after=None, limit=5)
    assert [d["_id"] for d in documents] == ["m_001"]
    rescored = first.model_copy(update={"score": 0.65})
    await store.project_many([new_event("match.updated.v1", rescored, source=SOURCE)])
    stored = await store.matches.find_one({"_id": "m_001"})
    assert "data" not in stored and json.loads(stored["data_json"])["score"] == 0.65
