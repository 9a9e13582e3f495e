from shared.events.listing import ItemStatus
from shared.events.matching import ConsortiumRole, match_id
from shared.party_types import Kind, PartyType

from services.matching.domain.consortium import (
    CONSORTIUM_PROPOSED, CONSORTIUM_RETRACTED, CONSORTIUM_UPDATED, ConsortiumBook, consortium_change, consortium_id,
    propose,
)
from services.matching.domain.engine import MatchEngine
from tests.unit.matching.factories import NOW, need, offer


def _engine_with_technology_match() -> MatchEngine:
    engine = MatchEngine()
    engine.on_item(offer("tech", fields=["5G.RF"], zh="毫米波射频芯片", owner="uni", party=PartyType.UNIVERSITY), NOW)
    engine.on_item(need("seek", fields=["5G.RF"], zh="射频芯片", owner="ent", party=PartyType.ENTERPRISE), NOW)
    return engine


def test_a_technology_match_alone_names_the_three_missing_roles():
    engine = _engine_with_technology_match()
    team = propose(engine.match(match_id("tech", "seek")), engine)
    assert [m.role for m in team.members] == [ConsortiumRole.TECHNOLOGY_PROVIDER, ConsortiumRole.TECHNOLOGY_SEEKER]
    assert team.missing_roles == [ConsortiumRole.CAPITAL, ConsortiumRole.SERVICE, ConsortiumRole.POLICY]
    assert team.consortium_id == consortium_id(match_id("tech", "seek"))


def test_the_best_support_matches_of_either_party_fill_the_roles():
    engine = _engine_with_technology_match()
    engine.on_item(need("funding", kind=Kind.CAPITAL, fields=["5G.RF"], zh="射频芯片融资", owner="uni",
                        party=PartyType.UNIVERSITY), NOW)
    engine.on_item(offer("fund-a", kind=Kind.CAPITAL, fields=["5G.RF"], zh="射频芯片基金", owner="vc1"), NOW)
    engine.on_item(offer("fund-b", kind=Kind.CAPITAL, fields=["5G"], zh="基金", owner="vc2"), NOW)
    engine.on_item(need("policy", kind=Kind.POLICY, fields=["5G.RF"], zh="芯片补贴", owner="ent"), NOW)
    engine.on_item(offer("subsidy", kind=Kind.POLICY, fields=["5G.RF"], zh="芯片补贴政策", owner="gov"), NOW)
    team = propose(engine.match(match_id("tech", "seek")), engine)
    by_role = {m.role: m for m in team.members}
    assert by_role[ConsortiumRole.CAPITAL].participant_id == "vc1"
    assert by_role[ConsortiumRole.POLICY].participant_id == "gov"
    assert team.missing_roles == [ConsortiumRole.SERVICE]
    assert 0 < team.score < 1


def test_non_technology_matches_get_no_consortium():
    engine = MatchEngine()
    engine.on_item(offer("fund", kind=Kind.CAPITAL, zh="基金", owner="vc"), NOW)
    engine.on_item(need("funding", kind=Kind.CAPITAL, zh="基金", owner="ent"), NOW)
    assert propose(engine.match(match_id("fund", "funding")), engine) is None


def test_the_book_proposes_updates_and_retracts_as_matches_change():
    engine, book = MatchEngine(), ConsortiumBook()
    book.refresh(engine, engine.on_item(offer("tech", zh="射频芯片", owner="uni"), NOW))
    proposed = book.refresh(engine, engine.on_item(need("seek", zh="射频芯片", owner="ent"), NOW))
    assert [c.event_type for c in proposed] == [CONSORTIUM_PROPOSED]
    book.refresh(engine, engine.on_item(need("svc", kind=Kind.SERVICE, zh="专利服务", owner="ent"), NOW))
    updated = book.refresh(engine, engine.on_item(offer("agency", kind=Kind.SERVICE, zh="专利服务", owner="ag"), NOW))
    assert [c.event_type for c in updated] == [CONSORTIUM_UPDATED]
    assert book.all()[0].missing_roles == [ConsortiumRole.CAPITAL, ConsortiumRole.POLICY]
    assert book.for_participant("ag") == book.all()
    retracted = book.refresh(engine, engine.on_item(
        offer("tech", zh="射频芯片", owner="uni", status=ItemStatus.WITHDRAWN, version=2), NOW))
    assert [c.event_type for c in retracted] == [CONSORTIUM_RETRACTED]
    assert sorted(retracted[0].data.participant_ids) == ["ag", "ent", "uni"]
    assert book.all() == []


def test_consortium_change_says_what_happened():
    engine = _engine_with_technology_match()
    team = propose(engine.match(match_id("tech", "seek")), engine)
    assert consortium_change(None, team).event_type == CONSORTIUM_PROPOSED
    assert consortium_change(team, team) is None
    assert consortium_change(team, None).event_type == CONSORTIUM_RETRACTED
    assert consortium_change(None, None) is None
