"""Five-party teams from the whole market: capital, service and policy offers fitting the
technology match, whether or not its parties posted needs for them."""

from shared.events.common import LocalizedText
from shared.events.listing import ItemStatus, ParticipantData
from shared.events.matching import ConsortiumRole, match_id
from shared.party_types import Kind, PartyType

from shared.events.common import MoneyRange

from services.matching.domain.consortium import ConsortiumBook, consortium_id, propose, ticket_fit
from services.matching.domain.engine import MatchEngine
from tests.unit.matching.factories import NOW, need, offer

TECH = match_id("tech", "seek")


def _participant(pid: str, party: PartyType, zh: str, en: str, region: str = "CN-SC.CD") -> ParticipantData:
    return ParticipantData(id=pid, party_type=party, organisation=LocalizedText(zh=zh, en=en),
                           display_name=LocalizedText(zh=zh), region=region)


def _engine() -> MatchEngine:
    engine = MatchEngine()
    engine.on_participant(_participant("uni", PartyType.UNIVERSITY, "电子科技大学", "UESTC"))
    engine.on_participant(_participant("ent", PartyType.ENTERPRISE, "成都射频科技", "Chengdu RF Tech"))
    engine.on_participant(_participant("vc1", PartyType.INVESTOR, "蓉创投资", "Rongchuang Capital"))
    engine.on_item(offer("tech", fields=["5G.RF"], zh="毫米波射频芯片", owner="uni", trl=6, region="CN-SC.CD"), NOW)
    engine.on_item(need("seek", fields=["5G.RF"], zh="射频芯片", owner="ent", region="CN-SC.CD"), NOW)
    return engine


def _capital(item_id: str, owner: str, **kw) -> None:
    return offer(item_id, kind=Kind.CAPITAL, owner=owner, **{"fields": ["5G.RF"], "zh": "硬科技股权投资", **kw})


def test_a_technology_match_with_no_fitting_support_offer_is_no_consortium():
    engine = _engine()
    assert propose(engine.record(TECH), engine) is None
    engine.on_item(_capital("elsewhere", "vc1", fields=["BIO.DRUG"]), NOW)  # another field
    assert propose(engine.record(TECH), engine) is None


def test_market_offers_fill_the_roles_without_any_need_posted_and_members_are_named():
    engine = _engine()
    engine.on_item(_capital("fund-a", "vc1", trl=5, amount=(1e6, 5e6), region_preference=["RS-CY"]), NOW)
    engine.on_item(_capital("fund-b", "vc2", fields=["5G.RAN"]), NOW)  # same top-level field only: fits less
    engine.on_item(offer("subsidy", kind=Kind.POLICY, fields=["5G.RF"], zh="芯片补贴政策", owner="gov",
                         region="CN-SC.CD"), NOW)
    team = propose(engine.record(TECH), engine)
    by_role = {m.role: m for m in team.members}
    assert by_role[ConsortiumRole.CAPITAL].participant_id == "vc1"
    assert by_role[ConsortiumRole.CAPITAL].organisation == LocalizedText(zh="蓉创投资", en="Rongchuang Capital")
    assert by_role[ConsortiumRole.CAPITAL].reason.zh == \
        "覆盖射频与天线；面向成都；投资阶段 TRL ≥ 5，技术已达 TRL 6；单笔 CNY 1,000,000–5,000,000，不同于 TRL 6 阶段的常见融资规模"
    assert by_role[ConsortiumRole.TECHNOLOGY_PROVIDER].organisation.zh == "电子科技大学"
    assert by_role[ConsortiumRole.POLICY].participant_id == "gov"
    assert by_role[ConsortiumRole.POLICY].match_id is None  # nobody asked for it: proposed from the market
    assert team.missing_roles == [ConsortiumRole.SERVICE]
    assert team.consortium_id == consortium_id(TECH) and 0 < team.score < 1


def test_capital_must_fit_stage_ticket_and_a_required_region():
    engine = _engine()
    engine.on_item(need("funding", kind=Kind.CAPITAL, fields=["5G.RF"], zh="射频芯片融资", owner="uni",
                        party=PartyType.UNIVERSITY, amount=(2e6, 3e6)), NOW)
    engine.on_item(_capital("too-late", "vc1", trl=7), NOW)  # invests from TRL 7, the technology is at 6
    engine.on_item(_capital("too-big", "vc2", amount=(5e7, 1e8)), NOW)  # ticket above the asked funding
    engine.on_item(_capital("far", "vc3", region_preference=["RS-YRD"], region_required=True), NOW)
    assert propose(engine.record(TECH), engine) is None
    engine.on_item(_capital("fits", "vc4", trl=4, amount=(1e6, 5e6)), NOW)
    team = propose(engine.record(TECH), engine)
    assert [(m.role, m.item_id) for m in team.members[2:]] == [(ConsortiumRole.CAPITAL, "fits")]


def test_a_ticket_is_weighed_against_the_technologys_stage():
    """TRL 6 (prototype to pilot) raises Pre-A and A rounds (3–50 M): the typical ticket of a
    5–30 M fund is 12 M, of a 50–200 M growth fund 100 M."""
    assert ticket_fit(MoneyRange(min=5e6, max=30e6), 6) == 1.0
    assert ticket_fit(MoneyRange(min=50e6, max=200e6), 6) == 0.0
    assert ticket_fit(MoneyRange(min=50e6, max=200e6), 9) == 1.0
    assert ticket_fit(MoneyRange(min=1e6, max=5e6), 2) == 1.0
    assert ticket_fit(MoneyRange(min=5e6, max=30e6), None) == 0.5
    assert ticket_fit(MoneyRange(min=5e6, max=30e6, currency="USD"), 6) == 0.5
    assert ticket_fit(None, 6) == 0.5


def test_without_a_capital_need_the_fund_whose_ticket_suits_the_stage_is_proposed():
    """Neither party asked for capital. The growth fund fits the region and states its TRL, the
    early-stage fund does neither, but a 50–200 M ticket is not a TRL 6 chip's round."""
    engine = _engine()
    engine.on_item(_capital("growth", "vc1", trl=5, amount=(50e6, 200e6), region_preference=["RS-CY"]), NOW)
    engine.on_item(_capital("early", "vc2", amount=(5e6, 30e6), region="CN-SH.SH"), NOW)
    team = propose(engine.record(TECH), engine)
    capital = next(m for m in team.members if m.role is ConsortiumRole.CAPITAL)
    assert capital.item_id == "early"
    assert capital.reason.en == "covers RF front-end and antennas; ticket CNY 5,000,000–30,000,000, typical of a round at TRL 6"


def test_a_policy_covers_only_its_region():
    engine = _engine()
    engine.on_item(offer("shanghai", kind=Kind.POLICY, fields=["5G.RF"], zh="芯片补贴", owner="gov-sh",
                         region="CN-SH.SH"), NOW)
    assert propose(engine.record(TECH), engine) is None
    engine.on_item(offer("southwest", kind=Kind.POLICY, fields=["5G"], zh="通信产业补贴", owner="gov-sw",
                         region="CN-BJ.BJ", region_preference=["TTC-SOUTHWEST"]), NOW)
    team = propose(engine.record(TECH), engine)
    assert team.members[2].item_id == "southwest" and team.members[2].reason.en.endswith("serves Chengdu")


def test_a_matched_need_of_a_party_counts_its_match():
    engine = _engine()
    engine.on_item(need("svc", kind=Kind.SERVICE, fields=["5G.RF"], zh="射频芯片专利布局服务", owner="ent"), NOW)
    engine.on_item(offer("agency", kind=Kind.SERVICE, fields=["5G.RF"], zh="射频芯片专利布局服务", owner="ag"), NOW)
    team = propose(engine.record(TECH), engine)
    assert team.members[2].match_id == match_id("agency", "svc")


def test_non_technology_matches_get_no_consortium():
    engine = MatchEngine()
    engine.on_item(offer("fund", kind=Kind.CAPITAL, zh="基金", owner="vc"), NOW)
    engine.on_item(need("funding", kind=Kind.CAPITAL, zh="基金", owner="ent"), NOW)
    assert propose(engine.record(match_id("fund", "funding")), engine) is None


def test_the_book_reworks_the_consortia_a_support_offer_joins_or_leaves():
    engine, book = _engine(), ConsortiumBook()
    book.note([TECH])
    assert book.settle(engine) == [(TECH, None)]
    fund = _capital("fund", "vc1")
    engine.on_item(fund, NOW)
    book.note_support_offer(fund, engine, NOW)
    [(tech_id, team)] = book.settle(engine)
    assert tech_id == TECH and team.members[2].item_id == "fund"
    weaker = _capital("weaker", "vc2", fields=["5G.RAN"])
    engine.on_item(weaker, NOW)
    book.note_support_offer(weaker, engine, NOW)
    assert book.settle(engine) == []  # it would not win: nothing to work out
    withdrawn = fund.model_copy(update={"status": ItemStatus.WITHDRAWN, "version": 2})
    engine.on_item(withdrawn, NOW)
    book.note_support_offer(withdrawn, engine, NOW)
    [(_, team)] = book.settle(engine)
    assert team.members[2].item_id == "weaker"


def test_a_need_gets_consortia_around_its_best_three_technology_matches_only():
    """Five equal offers rank by id (t1 … t4, tech): t4's and tech's matches get no team. A sixth, t0, ranks first;
    the book works out the need's other matches again, and t3's team is no longer proposed."""
    engine, book = _engine(), ConsortiumBook()
    engine.on_item(_capital("fund", "vc1"), NOW)
    for n in (1, 2, 3, 4):
        engine.on_item(offer(f"t{n}", fields=["5G.RF"], zh="毫米波射频芯片", owner=f"lab{n}", trl=6,
                             region="CN-SC.CD"), NOW)
    ranked = sorted(engine.pairs_for("seek"), key=lambda pair: (-pair[3], pair[1]))
    assert [offer_id for _, offer_id, *_ in ranked] == ["t1", "t2", "t3", "t4", "tech"]  # one score: by id
    teams = {offer_id: propose(engine.record(match_id(offer_id, "seek")), engine)
             for offer_id in ("t1", "t2", "t3", "t4", "tech")}
    assert [offer_id for offer_id, team in teams.items() if team is not None] == ["t1", "t2", "t3"]
    book.note(m for m, *_ in engine.pairs_for("seek"))
    book.settle(engine)
    changes = engine.on_item(offer("t0", fields=["5G.RF"], zh="毫米波射频芯片", owner="lab0", trl=6,
                                   region="CN-SC.CD"), NOW)
    book.note_matches(changes, engine)
    settled = dict(book.settle(engine))
    assert sorted(offer_id for offer_id in ("t0", "t1", "t2", "t3", "t4", "tech")
                  if settled[match_id(offer_id, "seek")] is not None) == ["t0", "t1", "t2"]


def _scan_best(tech, view) -> dict:
    """The reference: every open offer of each kind in the technology's top-level fields fitted."""
    from services.matching.domain.consortium import SUPPORT_ROLES, SupportFit, party_needs, support_fit
    from shared.party_types import Side
    best: dict = {}
    needs = party_needs(tech, view)
    for kind in SUPPORT_ROLES:
        matched = {o: (m, s) for n in needs[kind] for m, o, _, s in view.pairs_for(n.id)}
        for item in view.open_items(kind, Side.OFFER, tech.top_fields):
            fit = support_fit(item, tech, needs[kind])
            if fit is None:
                continue
            if item.id in matched:
                fit = SupportFit(item, max(fit.score, matched[item.id][1]), fit.where, matched[item.id][0])
            known = best.get(kind)
            if known is None or (-fit.score, item.id) < (-known.score, known.offer.id):
                best[kind] = fit
    return best


def test_an_offer_sharing_only_the_top_level_field_still_wins_when_the_sub_field_ones_fit_worse():
    """Offers listing the technology's own sub-field are fitted first; the rest of its top-level
    field only when one of them could still score higher: here the sub-field's only fund prefers
    another region and invests late, and a fund of a sibling sub-field fits better."""
    from services.matching.domain.consortium import best_supports, technology
    engine = _engine()
    engine.on_item(_capital("far", "vc1", trl=9, region_preference=["CN-GD.SZ"]), NOW)  # field 1, region far, late
    engine.on_item(_capital("near", "vc2", fields=["5G.RAN"], trl=3, amount=(3e6, 20e6)), NOW)  # field 0.5
    tech = technology("tech", "seek", engine)
    found = best_supports(tech, engine)
    assert found == _scan_best(tech, engine)
    assert found[Kind.CAPITAL].offer.id == "near"


def test_best_supports_is_the_full_scan_over_a_synthetic_market():
    """The pruned search against fitting every offer of the top-level fields, on 600 synthetic
    items whose owners post several (so parties' own needs and their matches count too)."""
    from bench.matching_candidates import Corpus
    from services.matching.domain.consortium import best_supports, technology
    from shared.party_types import Side
    corpus, engine = Corpus(seed=11, topical=True), MatchEngine()
    for n in range(600):
        item = corpus.item(n, Side.OFFER if n % 2 else Side.NEED)
        engine.on_item(item.model_copy(update={"owner_id": f"p{n % 150}"}), NOW)
    compared = 0
    for match_id_ in sorted(engine._matches):
        record = engine.record(match_id_)
        tech = technology(record.offer.id, record.need.id, engine)
        if tech is not None:
            assert best_supports(tech, engine) == _scan_best(tech, engine), match_id_
            compared += 1
    assert compared > 100


def test_the_books_known_support_roles_are_the_markets_best_after_every_settle():
    """The book keeps the support roles it found and forgets a kind only when an offer could
    change it: after every event of a synthetic stream (new items from owners posting several,
    support offers withdrawn and changed), each team it works out is the one worked out from the
    whole market. (What it marks is main's rule, unchanged: a team whose inputs changed unmarked,
    e.g. through a party's new capital need without a match, is kept as it was, as before.)"""
    from bench.matching_candidates import Corpus
    from shared.party_types import Side
    corpus, engine, book = Corpus(seed=5, topical=True), MatchEngine(), ConsortiumBook()
    kept: dict[str, object] = {}
    support: list = []
    for n in range(500):
        item = corpus.item(n, Side.OFFER if n % 2 else Side.NEED).model_copy(update={"owner_id": f"p{n % 120}"})
        if n % 7 == 0 and support:  # a support offer withdrawn, or moved to another field
            old = support.pop(n % len(support))
            item = old.model_copy(update={"version": old.version + 1, **(
                {"status": ItemStatus.WITHDRAWN} if n % 2 else {"fields": item.fields})})
        elif item.side is Side.OFFER and item.kind is not Kind.TECHNOLOGY:
            support.append(item)
        book.note_matches(engine.on_item(item, NOW), engine)
        book.note_support_offer(item, engine, NOW)
        for tech_match_id, proposal in book.settle(engine):
            kept[tech_match_id] = proposal
            record = engine.record(tech_match_id)
            assert proposal == (propose(record, engine) if record is not None else None), (n, tech_match_id)
    assert sum(proposal is not None for proposal in kept.values()) > 50
