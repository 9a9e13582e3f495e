from services.matching.domain.match_table import MatchTable
from services.matching.domain.scoring import score_pair
from tests.unit.matching.factories import NOW, need, offer


def _match(offer_id: str, need_id: str, zh: str):
    o, n = offer(offer_id, zh=zh), need(need_id, zh="毫米波射频芯片")
    scored = score_pair(o, n, now=NOW)
    assert scored is not None
    return scored


def test_a_match_reads_back_equal_and_orders_by_its_score():
    table = MatchTable()
    close, far = _match("o1", "n1", "毫米波射频芯片"), _match("o2", "n1", "射频")
    table.put(close)
    table.put(far)
    assert table[close.match_id] == close and table.get(far.match_id) == far
    assert table.score(close.match_id) == close.score > table.score(far.match_id) == far.score
    assert close.match_id in table and len(table) == 2 and set(table) == {close.match_id, far.match_id}
    table.discard(far.match_id)
    table.discard(far.match_id)  # gone already: nothing to do
    assert table.get(far.match_id) is None and len(table) == 1
