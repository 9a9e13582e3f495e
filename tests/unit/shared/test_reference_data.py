import pytest

from shared import regions, taxonomy
from shared.party_types import Kind, PartyType, Side, may_post
from shared.regions import Proximity, proximity
from shared.text import tokens


def test_seed_fields_are_first_level_with_children():
    for code in taxonomy.SEED_FIELDS:
        assert taxonomy.FIELDS[code].parent is None
        assert taxonomy.children(code)
    assert taxonomy.FIELDS["5G"].zh == "5G通信"
    assert taxonomy.top_level("5G.RF") == "5G"
    assert taxonomy.unknown_codes(["5G.RF", "XX"]) == ["XX"]


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("CN-SC.CD", "CN-SC.CD", Proximity.SAME_CITY),
    ("CN-SC.CD", "CN-SC.MY", Proximity.SAME_PROVINCE),
    ("CN-SC.CD", "CN-CQ.CQ", Proximity.SAME_STRATEGY),
    ("CN-JS.SZ", "CN-SH.SH", Proximity.SAME_STRATEGY),
    ("CN-SD.QD", "CN-SH.SH", Proximity.SAME_CENTRE),
    ("CN-GD.SZ", "CN-BJ.BJ", Proximity.ELSEWHERE),
    ("CN-SC", "CN-SC", Proximity.SAME_PROVINCE),
])
def test_proximity(a, b, expected):
    assert proximity(a, b) is expected


def test_regions_know_their_province_and_zones_their_city():
    assert regions.REGIONS["CN-GD.SZ"].province == "CN-GD"
    for zone in regions.HIGH_TECH_ZONES.values():
        assert regions.is_known(zone.city)
    for centre in regions.TRANSFER_CENTRES:
        assert regions.is_known(centre.seat)


def test_posting_rules():
    assert may_post(PartyType.INVESTOR, Side.OFFER, Kind.CAPITAL)
    assert not may_post(PartyType.INVESTOR, Side.OFFER, Kind.TECHNOLOGY)
    assert may_post(PartyType.GOVERNMENT, Side.OFFER, Kind.POLICY)
    assert not may_post(PartyType.ENTERPRISE, Side.OFFER, Kind.POLICY)
    assert may_post(PartyType.ENTERPRISE, Side.NEED, Kind.POLICY)


def test_tokens_cover_chinese_and_english():
    assert {"射频", "芯片", "5g"} <= set(tokens("5G射频芯片"))
    assert tokens("The RF front-end for 5G") == ["rf", "front-end", "5g"]


def test_areas_are_the_four_strategies_and_the_transfer_centres_regions():
    assert {regions.AREAS[c].zh for c in ("RS-JJJ", "RS-YRD", "RS-GBA", "RS-CY")} == {"京津冀", "长三角", "粤港澳大湾区", "成渝"}
    assert {a.zh for a in regions.AREAS.values() if a.strategy is None} == {c.zh for c in regions.TRANSFER_CENTRES}
    assert regions.covers("RS-YRD", "CN-JS.SZ") and not regions.covers("RS-YRD", "CN-GD.SZ")
    assert regions.covers("TTC-SOUTHWEST", "CN-CQ.CQ") and regions.covers("CN-SC", "CN-SC.CD")
    assert not regions.covers("CN-SC.CD", "CN-SC.MY")
    assert regions.is_preference("RS-GBA") and not regions.is_known("RS-GBA")
