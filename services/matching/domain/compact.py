"""Items as the engine holds them: the same ``ItemData``, at about a third of the memory.

Every worker holds every open item (the index, and each match's two scored versions), so an
item's bytes count 100,000 times. A decoded ``ItemData`` took ~4.3 KiB, half of it in pydantic's
``__pydantic_fields_set__``: a set of the ~20 field names each instance was given, one set per
instance (and one per nested ``LocalizedText`` and ``MoneyRange``). ``compact_item`` rebuilds
the item with ``model_construct`` (no validation: its values were validated when decoded) so
that instances given the same fields share one such set, and with one copy of the strings many
items repeat (owner, region, field codes, keywords, currency). The values, equality and every
dump are those of the item given; ``ItemData`` is frozen, so no shared set is ever added to.
"""

from __future__ import annotations

from sys import intern
from typing import TypeVar

from pydantic import BaseModel

from shared.events.common import LocalizedText, MoneyRange
from shared.events.listing import ItemData

_Model = TypeVar("_Model", bound=BaseModel)
_FIELDS_SETS: dict[tuple[type[BaseModel], frozenset[str]], set[str]] = {}


def _fields_set(model: BaseModel) -> set[str]:
    """The one set of field names shared by the instances of ``model``'s class given those fields."""
    given = model.__pydantic_fields_set__
    return _FIELDS_SETS.setdefault((type(model), frozenset(given)), given)


def _rebuilt(model: _Model, **values: object) -> _Model:
    return model.model_construct(_fields_set=_fields_set(model), **{**model.__dict__, **values})


def _text(text: LocalizedText | None) -> LocalizedText | None:
    return None if text is None else _rebuilt(text)


def _amount(amount: MoneyRange | None) -> MoneyRange | None:
    return None if amount is None else _rebuilt(amount, currency=intern(amount.currency))


def compact_item(item: ItemData) -> ItemData:
    """The item, equal to ``item``, as the engine holds it (see the module)."""
    return _rebuilt(
        item, owner_id=intern(item.owner_id), title=_text(item.title), description=_text(item.description),
        fields=[intern(code) for code in item.fields], keywords=[intern(word) for word in item.keywords],
        amount=_amount(item.amount), region=None if item.region is None else intern(item.region),
        region_preference=[intern(region) for region in item.region_preference])
