"""The output ledger's typed keys and the processor's dispatch of input types."""

from __future__ import annotations

import pytest

from services.matching.ledger import AgendaKey, ConsortiumKey, DeclineKey, MatchKey, output_event_id, parse_key
from services.matching.processor import Processor, State
from shared.events import new_event
from shared.events.matching import ConsortiumRetractedData


@pytest.mark.parametrize(("key", "stored"), [
    (MatchKey("m_1"), "m_1"),
    (DeclineKey("m_1", "p-ent"), "m_1@p-ent"),
    (ConsortiumKey("m_1"), "consortium:m_1"),
    (AgendaKey("s-1"), "agenda:s-1"),
])
def test_a_key_is_stored_under_the_text_of_earlier_versions_and_read_back(key, stored):
    assert str(key) == stored
    assert parse_key(stored) == key


def test_event_ids_are_those_the_string_keys_of_earlier_versions_gave():
    # figures of the code before typed keys (f56a467): a restart after the upgrade re-sends with the same ids
    assert output_event_id(ConsortiumKey("m_1"), 2) == "fb23bf40-97d2-5eac-8e63-35c298d8e113"
    assert output_event_id(MatchKey("m_1"), 3) == "5f05bc61-4941-5bcd-bfa3-74321c1f78cd"


def test_an_input_type_without_a_handler_is_refused_with_its_name():
    processor = Processor(State(items={}, participants={}, feedback={}, sessions={}, ledger={}))
    event = new_event("consortium.retracted.v1", ConsortiumRetractedData(
        consortium_id="c_1", technology_match_id="m_1", participant_ids=["a"], reason="test"), source="/tests")
    with pytest.raises(TypeError, match="does not handle consortium.retracted.v1"):
        processor.handle(event, processor.new_batch(), 0)
