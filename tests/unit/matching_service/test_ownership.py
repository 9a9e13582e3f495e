"""Several workers: which partition an output belongs to, what a worker gaining a partition sends
again (the ledger's record of each output, same id and content), which worker names and state
directories the stack and settings give."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from aiokafka import TopicPartition

from hardtech import stack
from services.matching.ledger import (
    UNPOSITIONED, AgendaKey, Batch, ConsortiumKey, DeclineKey, Emission, MatchKey, partition_of, resend,
)
from services.matching.ownership import OwnershipGroup
from services.matching.processor import Processor
from services.matching.settings import Settings
from shared import topics
from shared.events import CloudEvent
from shared.events.matching import DeclineReason, FeedbackDecision, MatchFeedbackData
from tests.unit.matching_service.test_processor import (
    CAPITAL_OFFER, T0, TECH_NEED, TECH_OFFER, _closed, _event, _item_event, _state,
)


def test_an_entity_belongs_to_one_partition_by_a_stable_hash_of_its_id():
    assert partition_of(MatchKey("m_1")) == partition_of(DeclineKey("m_1", "p-ent")) == 0  # crc32("m_1") % 12
    assert partition_of(ConsortiumKey("m_1")) == partition_of(MatchKey("m_1"))  # its technology match's
    assert partition_of(AgendaKey("s-1")) == 2
    assert {partition_of(MatchKey(f"m_{n}")) for n in range(200)} == set(range(12))


def _handled(processor: Processor, events: list[CloudEvent]) -> Batch:
    batch = processor.new_batch()
    for position, event in enumerate(events):
        batch.position = position
        processor.handle(event, batch, position)
        processor.finish(batch)
    processor.commit(batch)
    return batch


def test_a_ledger_entry_sends_again_the_last_event_of_its_entity_with_its_id_type_and_data():
    processor = Processor(_state())
    first = _handled(processor, [_item_event(TECH_OFFER), _item_event(TECH_NEED), _item_event(CAPITAL_OFFER)])
    match = first.emissions[0].event.data
    decline = _event("match.feedback_given.v1", MatchFeedbackData(
        match_id=match.match_id, participant_id="ent", decision=FeedbackDecision.DECLINE,
        reason=DeclineReason.TOO_EARLY), T0 + timedelta(minutes=1))
    sessions = [_event("session.registration_closed.v1", _closed(["uni", "ent"]))]
    batch = processor.new_batch()
    batch.position = 3
    processor.handle(decline, batch, 3)
    processor.handle(sessions[0], batch, 3)
    processor.commit(batch)
    emitted = [*first.emissions, *batch.emissions]
    assert {e.event.type for e in emitted} >= {"match.created.v1", "consortium.proposed.v1", "match.retracted.v1",
                                               "agenda.published.v1"}
    last = {str(e.ledger_key): e for e in emitted}  # the last emission of each entity
    again = {text: resend(text, entry) for text, entry in processor.entries()}
    assert set(again) == set(last)
    for text, emission in last.items():
        sent = again[text]
        assert sent is not None
        assert (sent.topic, sent.key, sent.ledger_key, sent.position) == (
            emission.topic, emission.key, emission.ledger_key, emission.position)
        assert (sent.event.id, sent.event.type, sent.event.subject, sent.event.data) == (
            emission.event.id, emission.event.type, emission.event.subject, emission.event.data)
    assert last[str(DeclineKey(match.match_id, "ent"))].position == 3
    assert resend("m_1", {"version": 1, "digest": "d", "active": True, "data": {}}) is None  # before types were kept


def test_restored_outputs_have_no_position_so_a_gained_partition_always_sends_them_again():
    state = _state()
    _handled(Processor(state), [_item_event(TECH_OFFER)])
    lost = Processor(state)
    batch = lost.new_batch()
    lost.handle(_item_event(TECH_NEED), batch, 1)  # handled, never committed: a crash
    restored = Processor(state).restore()
    assert [e.position for e in restored.emissions] == [UNPOSITIONED]


class _Consumer:
    def __init__(self, committed: dict[int, int | None]):
        self._committed = committed

    async def committed(self, tp: TopicPartition) -> int | None:
        return self._committed[tp.partition]


def test_a_gained_partition_sends_from_its_watermark_and_the_others_not_at_all():
    gained: list[dict[int, int]] = []

    async def on_gained(watermarks: dict[int, int]) -> None:
        gained.append(watermarks)

    async def scenario() -> OwnershipGroup:
        group = OwnershipGroup(Settings(), on_gained)
        owners = topics.MATCHING_OWNERS.full_name()
        await group._assigned(_Consumer({3: 40, 5: None}), {TopicPartition(owners, 3), TopicPartition(owners, 5)})
        await asyncio.sleep(0)
        return group

    group = asyncio.run(scenario())
    assert group.joined() and group.owned() == [3, 5] and gained == [{3: 40, 5: 0}]
    processor = Processor(_state())
    [match] = _handled(processor, [_item_event(TECH_OFFER), _item_event(TECH_NEED)]).emissions
    in_3 = next(f"m_{n}" for n in range(100) if partition_of(MatchKey(f"m_{n}")) == 3)
    in_4 = next(f"m_{n}" for n in range(100) if partition_of(MatchKey(f"m_{n}")) == 4)
    assert group.sends(Emission(match.topic, in_3, match.event, MatchKey(in_3), 40))
    assert not group.sends(Emission(match.topic, in_3, match.event, MatchKey(in_3), 39))  # the last owner sent it
    assert not group.sends(Emission(match.topic, in_4, match.event, MatchKey(in_4), 100))  # another worker's


def test_worker_n_has_its_own_faust_group_changelogs_and_state_directory_worker_1_those_of_one_worker():
    one = Settings(topic_prefix="p-", datadir=Path("/data/matching"))
    two = Settings(topic_prefix="p-", datadir=Path("/data/matching"), worker=2, workers=2)
    assert (one.app_id, one.state_dir) == ("p-matching", Path("/data/matching"))
    assert (two.app_id, two.state_dir) == ("p-matching-2", Path("/data/matching-2"))


def test_matching_workers_makes_the_stack_start_that_many_numbered_workers(monkeypatch):
    matching = stack.service("matching")
    assert [(p.name, m, env) for p, m, env in matching.worker_procs] == [
        ("matching-worker", "services.matching.worker", {"MATCHING_WORKER": "1"})]
    monkeypatch.setenv("MATCHING_WORKERS", "3")
    assert [(p.name, env) for p, _, env in matching.worker_procs] == [
        ("matching-worker", {"MATCHING_WORKER": "1"}), ("matching-worker-2", {"MATCHING_WORKER": "2"}),
        ("matching-worker-3", {"MATCHING_WORKER": "3"})]


def test_stopping_the_stack_finds_every_worker_started_whatever_matching_workers_says_now(monkeypatch, tmp_path):
    for name in ("matching-worker", "matching-worker-2", "matching-worker-3", "matching", "notification"):
        (tmp_path / f"{name}.pid").write_text("1")
    monkeypatch.setattr(stack, "RUN", tmp_path)
    assert [p.name for p in stack.service("matching").running_worker_procs()] == [
        "matching-worker", "matching-worker-2", "matching-worker-3"]
