import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.events.common import MoneyRange
from shared.events.listing import ItemStatus, TransferMode
from shared.party_types import Kind, PartyType, Side, may_post

from services.matching.domain import index as index_module
from services.matching.domain.index import CandidateIndex, top_partners
from services.matching.domain.scoring import pair_score
from tests.unit.matching.factories import NOW, item, need, offer


def _found(index: CandidateIndex, query, k: int = 10) -> list[str]:
    return [partner.id for _, partner in top_partners(index, query, k=k, now=NOW)]


def test_partners_are_the_opposite_side_of_the_same_kind_sharing_a_sub_field_or_terms():
    index = CandidateIndex()
    index.upsert(offer("same-field", fields=["5G.RAN"], en="base station software"))
    index.upsert(offer("same-top", fields=["5G.OPT"], en="optical module"))
    index.upsert(offer("text-only", fields=["EIT.AI"], en="beamforming algorithm"))
    index.upsert(offer("unrelated", fields=["BIO.DRUG"], en="antibody"))
    index.upsert(offer("capital", kind=Kind.CAPITAL, fields=["5G.RAN"], en="beamforming fund"))
    index.upsert(need("other-need", fields=["5G.RAN"], en="beamforming"))
    query = need("q", fields=["5G.RAN"], en="beamforming algorithm")

    # "same-top" shares a top-level field only, and no term: no evidence (README: hard rules)
    assert _found(index, query) == ["text-only", "same-field"]


def test_partners_respect_k_and_come_best_first():
    index = CandidateIndex()
    for n in range(30):
        index.upsert(offer(f"o{n:02d}", fields=["5G.RAN"], en="radio" + (" beamforming" if n == 17 else "")))
    found = _found(index, need("q", fields=["5G.RAN"], en="beamforming radio"), k=5)
    assert len(found) == 5
    assert found[0] == "o17"


def test_remove_and_non_open_upsert_take_items_out_of_every_posting():
    index = CandidateIndex()
    index.upsert(offer("a", en="beamforming"))
    index.upsert(offer("b", en="beamforming"))
    index.remove("a")
    index.upsert(offer("b", en="beamforming", status=ItemStatus.WITHDRAWN))
    assert len(index) == 0 and index.get("b") is None
    assert _found(index, need("q", en="beamforming")) == []
    assert len(index.text) == 0


def test_an_update_replaces_the_old_terms_and_fields():
    index = CandidateIndex()
    index.upsert(offer("a", fields=["5G.RAN"], en="beamforming"))
    index.upsert(offer("a", fields=["BIO.DRUG"], en="antibody"))
    assert _found(index, need("q", fields=["5G.RAN"], en="beamforming")) == []
    assert _found(index, need("q", fields=["BIO.DRUG"], en="antibody")) == ["a"]


def test_a_new_offer_finds_needs():
    index = CandidateIndex()
    index.upsert(need("n1", fields=["5G.RF"], zh="毫米波功放芯片"))
    index.upsert(need("n2", fields=["BIO.DX"], zh="体外诊断"))
    assert _found(index, offer("o", fields=["5G.RF"], zh="毫米波芯片")) == ["n1"]


_WORDS = ["beamforming", "antenna", "chip", "毫米波", "基站", "射频", "optical", "robot"]
_FIELDS = ["5G.RAN", "5G.RF", "5G.OPT", "IMFG.ROB", "BIO.DX"]


@st.composite
def _items(draw, side: Side, prefix: str):
    count = draw(st.integers(1, 25))
    return [
        item(f"{prefix}{n}", side, fields=draw(st.lists(st.sampled_from(_FIELDS), min_size=1, max_size=2, unique=True)),
             en=" ".join(draw(st.lists(st.sampled_from(_WORDS), min_size=1, max_size=4))),
             trl=draw(st.none() | st.integers(1, 9)), age_days=draw(st.integers(0, 400)),
             region=draw(st.none() | st.sampled_from(["CN-SC.CD", "CN-BJ.BJ", "CN-GD.SZ"])),
             region_preference=draw(st.sampled_from([[], ["CN-SC"], ["CN-GD.SZ"]])),
             region_required=draw(st.booleans()), amount=draw(st.sampled_from(_AMOUNTS)),
             transfer_modes=draw(st.sampled_from(_MODES)))
        for n in range(count)
    ]


# ranges in and across the amount bands of the index (ten per decade), open-ended ones too
_AMOUNTS = [None, (None, 1e6), (1e6, 2e6), (1.5e6, 1.6e6), (2e6, None), (5e5, 1e6), (3e6, 9e6), (1e6, 1e6)]
_MODES = [[], [TransferMode.LICENCE], [TransferMode.ASSIGNMENT], [TransferMode.LICENCE, TransferMode.EQUITY]]


@settings(max_examples=60, deadline=None)
@given(offers=_items(Side.OFFER, "o"), needs=_items(Side.NEED, "n"), k=st.integers(1, 6))
def test_top_partners_equal_a_full_scan_in_both_directions(offers, needs, k):
    index = CandidateIndex()
    for i in offers + needs:
        index.upsert(i)
    for query, others in [(n, offers) for n in needs] + [(o, needs) for o in offers]:
        assert [(s, i.id) for s, i in top_partners(index, query, k=k, now=NOW)] == _scan(query, others, index, k)


def _random_items(r: random.Random, side: Side, prefix: str, count: int, constrained: bool = True) -> list:
    """Items of random fields, words, TRL, age and region; ``constrained``: some also require
    their region, state amounts and transfer modes (hard rules that exclude pairs)."""
    words = ["beamforming", "antenna", "chip", "毫米波", "基站", "射频", "optical", "robot", "laser", "wafer",
             "ran1", "ran2", "ran3", "rf7", "rf8"]
    fields = ["5G.RAN", "5G.RF", "5G.OPT", "IMFG.ROB", "BIO.DX", "5G", "IMFG"]
    return [item(f"{prefix}{n}", side, fields=r.sample(fields, r.randint(1, 2)),
                 en=" ".join(r.choices(words, k=r.randint(1, 6))), trl=r.choice([None, *range(1, 10)]), age_days=r.randint(0, 400),
                 region=r.choice([None, "CN-SC.CD", "CN-BJ.BJ"]), region_preference=r.choice([[], ["CN-SC"]]),
                 **({"region_required": r.random() < 0.2, "amount": r.choice(_AMOUNTS), "transfer_modes": r.choice(_MODES)}
                    if constrained else {}))
            for n in range(count)]


@pytest.mark.parametrize("seed", range(6))
def test_top_partners_equal_a_full_scan_on_corpora_big_enough_to_prune(seed):
    """Hundreds of items, so that common terms are set aside and groups skipped."""
    r = random.Random(seed)
    offers, needs = _random_items(r, Side.OFFER, "o", 300), _random_items(r, Side.NEED, "n", 12)
    index = CandidateIndex()
    for i in offers + needs:
        index.upsert(i)
    k = r.randint(1, 10)
    for query, others in [(n, offers) for n in needs] + [(o, needs) for o in offers[:12]]:
        assert [(s, i.id) for s, i in top_partners(index, query, k=k, now=NOW)] == _scan(query, others, index, k)


def test_top_partners_equal_a_full_scan_after_updates_and_withdrawals():
    """Items change fields, text, TRL, owner type and update time, or leave, so slots of the
    partitions are freed and reused: their bit sets must keep describing exactly the open items."""
    r = random.Random(11)
    words = ["beamforming", "antenna", "chip", "毫米波", "基站", "射频", "optical", "robot", "ran1", "ran2"]
    index, latest = CandidateIndex(), {}
    for _ in range(800):
        side = r.choice([Side.OFFER, Side.OFFER, Side.NEED])
        item_id = f"{side.value}{r.randrange(80)}"
        latest[item_id] = item(
            item_id, side, fields=r.sample(["5G.RAN", "5G.RF", "5G", "IMFG.ROB", "BIO.DX"], r.randint(1, 2)),
            en=" ".join(r.choices(words, k=r.randint(1, 5))), trl=r.choice([None, *range(1, 10)]),
            party=r.choice([p for p in PartyType if may_post(p, side, Kind.TECHNOLOGY)]),
            age_days=r.uniform(-20, 400), status=ItemStatus.WITHDRAWN if r.random() < 0.15 else ItemStatus.OPEN)
        index.upsert(latest[item_id])
    open_items = [i for i in latest.values() if i.status is ItemStatus.OPEN]
    offers = [i for i in open_items if i.side is Side.OFFER]
    needs = [i for i in open_items if i.side is Side.NEED]
    for query, others in [(n, offers) for n in needs] + [(o, needs) for o in offers]:
        assert [(s, i.id) for s, i in top_partners(index, query, k=5, now=NOW)] == _scan(query, others, index, 5)


def test_queries_from_offers_equal_a_full_scan_while_the_text_statistics_refresh():
    """Needs' norms follow the text statistics' snapshot: partitions band them and postings keep
    the least under one snapshot, and each refresh says how far norms can have fallen since
    (slack), banding them again when too far. Queries between updates, across many refreshes,
    must still give exactly what scoring every need gives."""
    r = random.Random(7)
    index, latest = CandidateIndex(), {}
    generations, slacks = set(), []
    for step in range(600):
        side = r.choice([Side.NEED, Side.NEED, Side.OFFER])
        item_id = f"{side.value}{r.randrange(120)}"
        latest[item_id] = _random_items(r, side, item_id, 1)[0].model_copy(update={
            "id": item_id, "status": ItemStatus.WITHDRAWN if r.random() < 0.1 else ItemStatus.OPEN})
        index.upsert(latest[item_id])
        generations.add(index.text.generation)
        if step % 10 == 0:
            needs = [i for i in latest.values() if i.status is ItemStatus.OPEN and i.side is Side.NEED]
            query = _random_items(r, Side.OFFER, "q", 1)[0]
            assert [(s, i.id) for s, i in top_partners(index, query, k=5, now=NOW)] == _scan(query, needs, index, 5)
            slacks.append(index.norm_slack())
    assert len(generations) > 100  # the statistics refreshed all along
    # bounds were loosened by the slack, and norms banded again when it fell too far
    assert min(slacks) >= index_module.REBASE_BELOW and sum(s < 1 for s in slacks) > 30 and slacks.count(1.0) > 2


def test_a_query_from_an_offer_considers_few_of_the_needs(monkeypatch):
    """Pruning from offers as from needs: on 2,000 open needs, an offer's top 5 are found looking
    at a small share of them (each need's text is bounded through its norm, not taken as whole)."""
    r = random.Random(3)
    needs = _random_items(r, Side.NEED, "n", 2000, constrained=False)
    index = CandidateIndex()
    for i in needs:
        index.upsert(i)
    considered: list[str] = []
    real = index_module._Query.index_score
    monkeypatch.setattr(index_module._Query, "index_score", lambda q, i: considered.append(i) or real(q, i))
    counts = []
    for query in _random_items(r, Side.OFFER, "q", 20, constrained=False):
        considered.clear()
        assert [(s, i.id) for s, i in top_partners(index, query, k=5, now=NOW)] == _scan(query, needs, index, 5)
        counts.append(len(considered))
    # with every shared term taken as a need's whole text: median 300, up to 758 of the 2,000
    assert sorted(counts)[len(counts) // 2] < 50 and max(counts) < 200, counts


@pytest.mark.parametrize("side", [Side.NEED, Side.OFFER])
def test_the_last_place_is_decided_by_region_and_amount_fit(side):
    """Partners alike in field and text differ only in how well their region and amounts fit:
    the index bounds those per group of region, region preference and amount band, not in full,
    and must still rank exactly as scoring every partner."""
    other = Side.OFFER if side is Side.NEED else Side.NEED
    index = CandidateIndex()
    text = "beamforming antenna"
    partners = [
        item("p-far", other, en=text, region="CN-BJ.BJ"),  # outside the query's preferred province
        item("p-near", other, en=text, region="CN-SC.CD"),
        item("p-near-usd", other, en=text, region="CN-SC.CD").model_copy(  # two currencies: amount fit 0.5
            update={"amount": MoneyRange(min=1e6, max=2e6, currency="USD")}),
        item("p-wants-gd", other, en=text, region="CN-SC.CD", region_preference=["CN-GD"]),  # its preference misses
    ]
    for partner in partners:
        index.upsert(partner)
    query = item("q", side, en=text, region="CN-SC.CD", region_preference=["CN-SC"], amount=(1e6, 3e6))
    for k in range(1, 5):
        found = [(s, i.id) for s, i in top_partners(index, query, k=k, now=NOW)]
        assert found == _scan(query, partners, index, k)
    assert [i for _, i in _scan(query, partners, index, 4)] == ["p-near", "p-far", "p-wants-gd", "p-near-usd"]


@pytest.mark.parametrize("side", [Side.NEED, Side.OFFER])
def test_partners_a_hard_rule_excludes_are_never_looked_at(side, monkeypatch):
    """TRL below the minimum, no common transfer mode, amounts that cannot overlap, a required
    region the other side is not in, no evidence: the partitions' groups rule such candidates
    out before their index score is worked out."""
    other = Side.OFFER if side is Side.NEED else Side.NEED
    text = "beamforming antenna"
    offering = side is Side.OFFER
    excluded = [
        item("x-trl", other, en=text, trl=9 if offering else 3),  # TRL 5 offered, minimum 9; TRL 3 offered, minimum 7
        item("x-mode", other, en=text, transfer_modes=[TransferMode.ASSIGNMENT]),
        item("x-amount-low", other, en=text, amount=(1e5, 5e5)),
        item("x-amount-high", other, en=text, amount=(5e6, None)),
        item("x-required", other, en=text, region="CN-SC.CD", region_preference=["CN-GD"], region_required=True),
        item("x-evidence", other, fields=["5G.OPT"], en="optical"),  # the top-level field alone
    ]
    kept = item("kept", other, en=text, amount=(2e6, 4e6), trl=5 if offering else 7)
    index = CandidateIndex()
    for partner in [*excluded, kept]:
        index.upsert(partner)
    query = item("q", side, en=text, trl=5 if offering else 7, transfer_modes=[TransferMode.LICENCE],
                 amount=(1e6, 3e6), region="CN-BJ.BJ")
    looked_at: list[str] = []
    real = index_module._Query.index_score
    monkeypatch.setattr(index_module._Query, "index_score", lambda q, i: looked_at.append(i) or real(q, i))
    assert [i.id for _, i in top_partners(index, query, k=10, now=NOW)] == ["kept"]
    assert [i for _, i in _scan(query, [*excluded, kept], index, 10)] == ["kept"]
    assert looked_at == ["kept"]


def _scan(query, others, index, k):
    pairs = [(o, query) if query.side is Side.NEED else (query, o) for o in others]
    scored = [(s, o.id if query.side is Side.NEED else n.id) for o, n in pairs
              if (s := pair_score(o, n, now=NOW, text=index.text)) is not None]
    return sorted(scored, key=lambda e: (-e[0], e[1]))[:k]
