"""Search over buckets: the terms of an item and of a query, which buckets and ids a page reads,
and which cursors it refuses."""

from __future__ import annotations

from services.listing.domain import search
from services.listing.domain.items import ItemQuery
from services.listing.domain.search import Position
from shared.api.pagination import owner_tag
from shared.events.listing import ItemStatus
from shared.party_types import Kind, PartyType, Side

MINE = owner_tag("p_uni")


def test_an_item_has_a_term_per_filter_value_and_per_word():
    terms = search.item_terms(status="open", kind="technology", party_type="university", owner_id="p_uni",
                              field_index=["EIT", "EIT.QIT"], region_index=["CN-SC", "CN-SC.CD"],
                              text_terms=["量子", "chip"])
    assert terms == {"all", "status:open", "kind:technology", "party:university", "owner:p_uni", "field:EIT",
                     "field:EIT.QIT", "region:CN-SC", "region:CN-SC.CD", "text:量子", "text:chip"}


def test_a_query_asks_for_the_terms_of_its_filters_open_items_by_default():
    assert search.query_terms(ItemQuery("p_uni", False)) == ["status:open"]
    assert search.query_terms(ItemQuery("p_uni", False, kind=Kind.CAPITAL, party_type=PartyType.INVESTOR,
                                        field="EIT", region="CN-BJ", terms=("量子", "chip"))) == [
        "field:EIT", "kind:capital", "party:investor", "region:CN-BJ", "status:open", "text:chip", "text:量子"]
    # one's own items in every status; another status than open only of one's own
    assert search.query_terms(ItemQuery("p_uni", False, mine=True)) == ["owner:p_uni"]
    assert search.query_terms(ItemQuery("p_uni", False, status=ItemStatus.DRAFT)) == ["owner:p_uni", "status:draft"]
    # an operator without filters: every item
    assert search.query_terms(ItemQuery("op", True)) == ["all"]


def test_a_page_walks_the_buckets_every_term_has_newest_first_from_its_start():
    assert search.shared_buckets([[0, 1, 2, 5], [1, 2, 3, 5], [2, 5, 1]], None) == [5, 2, 1]
    assert search.shared_buckets([[0, 1, 2, 5], [1, 2, 5]], Position(2, "l_9")) == [2, 1]
    assert search.shared_buckets([[0, 1], [2, 3]], None) == []
    assert search.intersect([["l_1", "l_3", "l_2"], ["l_2", "l_3", "l_4"]]) == ["l_3", "l_2"]
    start = Position(2, "l_5")
    assert [start.admits(b, i) for b, i in [(2, "l_4"), (2, "l_5"), (2, "l_6"), (1, "l_9"), (3, "l_1")]] == [
        True, False, False, True, False]
    assert Position(2).admits(2, "l_9")


def test_the_callers_cursor_of_this_search_is_accepted_and_others_refused():
    query = ItemQuery("p_uni", False, terms=("chip",))
    code = search.search_code(Side.OFFER, query)
    assert search.parse_cursor([MINE, code, 3, "l_7"], subject="p_uni", search=code, newest_bucket=4) == \
        Position(3, "l_7")
    assert search.parse_cursor([MINE, code, 3, None], subject="p_uni", search=code, newest_bucket=3) == Position(3)
    assert code != search.search_code(Side.NEED, query) != search.search_code(Side.OFFER, ItemQuery("p_uni", False))
    refusals = {
        "another participant": [owner_tag("p_ent"), code, 3, "l_7"],
        "another search": [MINE, search.search_code(Side.NEED, query), 3, "l_7"],
        "stale cursor": [MINE, code, 5, "l_7"],
    }
    for why, key in refusals.items():
        refusal = search.parse_cursor(key, subject="p_uni", search=code, newest_bucket=4)
        assert isinstance(refusal, str) and why in refusal, why
    for key in ([MINE, code, 3], [MINE, code, -1, None], [MINE, code, True, None], [MINE, code, 3, 7],
                [MINE, code, 3, ""], [1, code, 3, None], [MINE, code, 2**53, None]):
        refusal = search.parse_cursor(key, subject="p_uni", search=code, newest_bucket=4)
        assert isinstance(refusal, str) and refusal.startswith("invalid cursor"), key
