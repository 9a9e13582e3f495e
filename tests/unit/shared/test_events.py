from datetime import UTC, datetime

import pytest

from shared import topics
from shared.events import InvalidEvent, decode, encode, new_event, registry
from shared.events.common import LocalizedText, MoneyRange
from shared.events.listing import ItemData, ItemStatus
from shared.events.matching import match_id
from shared.party_types import Kind, PartyType, Side


def _item(**overrides) -> ItemData:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    values = dict(id="l1", side=Side.OFFER, kind=Kind.TECHNOLOGY, owner_id="p1", owner_party_type=PartyType.UNIVERSITY,
                  title=LocalizedText(zh="射频芯片"), fields=["5G.RF"], status=ItemStatus.OPEN,
                  created_at=now, updated_at=now)
    values.update(overrides)
    return ItemData(**values)


def test_round_trip_keeps_every_attribute():
    event = new_event("listing.created.v1", _item(), source="/services/listing", subject="l1")
    decoded = decode(encode(event))
    assert decoded == event
    assert decoded.data.title.pick("en") == "射频芯片"


@pytest.mark.parametrize(("raw", "reason"), [
    (b"\xff\xfe", "not JSON"),
    (b"[1, 2]", "not a JSON object"),
    (b'{"id": "x"}', "missing CloudEvents attribute 'type'"),
    (b'{"type": "nope.v1"}', "unknown event type 'nope.v1'"),
    (b'{"type": "listing.created.v1", "source": "s", "data": {"id": "l1"}}', "listing.created.v1: data."),
    (None, "tombstone"),
    (b"{" + b" " * (1024 * 1024 + 1) + b"}", "exceeds"),
])
def test_invalid_messages_name_their_problem(raw, reason):
    with pytest.raises(InvalidEvent) as caught:
        decode(raw)
    assert reason in caught.value.reason


def test_unexpected_type_on_a_topic_is_rejected():
    raw = encode(new_event("listing.created.v1", _item(), source="/s"))
    with pytest.raises(InvalidEvent, match="not expected on this topic"):
        decode(raw, allowed_types=frozenset(topics.DEMANDS.event_types))


def test_data_model_must_match_type():
    with pytest.raises(TypeError):
        new_event("match.created.v1", _item(), source="/s")


def test_unknown_fields_in_data_are_rejected():
    body = encode(new_event("listing.created.v1", _item(), source="/s")).replace(b'"id":"l1"', b'"id":"l1","x":1')
    with pytest.raises(InvalidEvent, match="Extra inputs"):
        decode(body)


def test_value_types_validate():
    with pytest.raises(ValueError):
        LocalizedText()
    with pytest.raises(ValueError):
        MoneyRange(min=10, max=5)
    with pytest.raises(ValueError):
        _item(trl=10)


def test_every_event_type_belongs_to_exactly_one_topic():
    for type_name in registry():
        owners = [s.name for s in topics.ALL if type_name in s.event_types]
        assert len(owners) == 1, (type_name, owners)


def test_match_id_is_stable_and_ordered():
    assert match_id("o1", "n1") == match_id("o1", "n1")
    assert match_id("o1", "n1") != match_id("n1", "o1")
