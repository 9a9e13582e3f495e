import sys

from shared.events.common import LocalizedText
from shared.events.listing import ItemData

from services.matching.domain.compact import compact_item
from services.matching.domain.engine import MatchEngine
from tests.unit.matching.factories import NOW, need, offer


def _full_offer(item_id: str) -> ItemData:
    return offer(item_id, zh="激光雷达点云", en="lidar point cloud", trl=6, amount=(1e5, 2e5),
                 description=LocalizedText(zh="车规级激光雷达"), keywords=["激光雷达", "lidar"],
                 region="CN-GD.SZ", region_preference=["RS-GBA"], fields=["AUT.SEN", "5G.RAN"])


def test_a_compact_item_is_the_same_item_in_every_value_and_dump():
    item = _full_offer("o1")
    compact = compact_item(item)
    assert compact == item
    assert compact.model_dump_json() == item.model_dump_json()
    assert compact.model_dump(exclude_unset=True) == item.model_dump(exclude_unset=True)
    assert type(compact.title) is LocalizedText and compact.amount == item.amount


def test_compact_items_given_the_same_fields_share_their_fields_set_and_repeated_strings():
    first, second = compact_item(_full_offer("o1")), compact_item(_full_offer("o2"))
    assert first.__pydantic_fields_set__ is second.__pydantic_fields_set__
    assert first.title.__pydantic_fields_set__ is second.title.__pydantic_fields_set__
    assert first.region is second.region and first.fields[0] is second.fields[0]
    assert first.owner_id != second.owner_id
    other = compact_item(need("n1"))  # given other fields: a set of its own, still exact
    assert other.__pydantic_fields_set__ == need("n1").__pydantic_fields_set__
    assert other.__pydantic_fields_set__ is not first.__pydantic_fields_set__
    # what a shared set saves: a decoded item's own set of its 22 names
    decoded = ItemData.model_validate_json(_full_offer("o3").model_dump_json())
    assert sys.getsizeof(decoded.__pydantic_fields_set__) > 2000
    assert compact_item(decoded).__pydantic_fields_set__ is compact_item(decoded).__pydantic_fields_set__


def test_the_engine_holds_the_compact_item_in_its_index_and_its_matches():
    engine = MatchEngine()
    engine.on_item(offer("o1", zh="激光雷达点云"), NOW)
    changes = engine.on_item(need("n1", zh="激光雷达点云"), NOW)
    [created] = changes
    held = engine.get_item("n1")
    assert held is not None and created.match.need is held and created.match.offer is engine.get_item("o1")
    assert held.__pydantic_fields_set__ is engine.get_item("o1").__pydantic_fields_set__
