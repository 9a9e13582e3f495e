"""A participant's list of its deals: the pages' entry numbers, and a deal as one of its parties
reads it (the counterpart and the session by name, its own item first, whether it must confirm)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.events.common import LocalizedText
from shared.events.deals import DealRole, DealStage
from services.deals.domain import stages
from services.deals.domain.mine import Counterpart, SessionRef, my_deal, page_numbers
from services.deals.domain.model import MatchSideRecord

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
UNI, ENT = "p_university", "p_enterprise"
CHIP, RF = LocalizedText(zh="毫米波芯片", en="mmWave chip"), LocalizedText(zh="射频前端")
OFFER = MatchSideRecord(item_id="l_1", owner_id=UNI, party_type="university", title=CHIP)
NEED = MatchSideRecord(item_id="d_1", owner_id=ENT, party_type="enterprise", title=RF)
MATCH = {"_id": "m_1", "offer": OFFER.model_dump(), "need": NEED.model_dump()}


def test_pages_go_from_the_newest_number_down_to_one():
    assert page_numbers(5, None, 2) == [5, 4]
    assert page_numbers(5, 4, 2) == [3, 2]
    assert page_numbers(5, 2, 2) == [1]
    assert page_numbers(0, None, 20) == []
    assert page_numbers(3, 99, 20) == [3, 2, 1]  # a cursor above the newest starts at the newest


def test_a_party_sees_its_counterpart_and_session_by_name_and_whether_it_must_confirm():
    deal = stages.open_deal("m_1", OFFER, NEED, opened_by=stages.MEETING_HELD, now=NOW, session_id="s_1")
    deal, _ = stages.confirm(deal, UNI, DealStage.MET, None, NOW + timedelta(hours=1))
    names = {UNI: {"organisation": {"zh": "电子科技大学"}, "display_name": {"zh": "王教授"}}}
    seen = my_deal(deal, ENT, MATCH, names, {"s_1": LocalizedText(zh="成都路演")})
    assert (seen.role, seen.stage, seen.pending_stage, seen.waiting_for_you) == (
        DealRole.NEED, DealStage.CONTACTED, DealStage.MET, True)
    assert seen.counterpart == Counterpart(participant_id=UNI, party_type="university",
                                           organisation=LocalizedText(zh="电子科技大学"),
                                           display_name=LocalizedText(zh="王教授"))
    assert (seen.your_item, seen.their_item, seen.session) == (RF, CHIP, SessionRef(id="s_1",
                                                                                   title=LocalizedText(zh="成都路演")))
    assert seen.updated_at == NOW
    by_confirmer = my_deal(deal, UNI, MATCH, {}, {})
    assert (by_confirmer.waiting_for_you, by_confirmer.counterpart.organisation, by_confirmer.your_item) == (
        False, None, CHIP)
