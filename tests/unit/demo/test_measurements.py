"""What the demo measures: when every group is caught up, and which live-stream event is the
notice of the need it posted."""

import json

import httpx

from hardtech.demo.run import _match_notice, caught_up


def test_a_group_is_caught_up_with_no_lag_and_nothing_awaiting_a_first_commit():
    assert caught_up({"total_lag": 0, "uncommitted_partitions": 0})
    assert not caught_up({"total_lag": 3, "uncommitted_partitions": 0})
    assert not caught_up({"total_lag": 0, "uncommitted_partitions": 1})


async def test_the_notice_of_the_posted_need_is_found_among_other_events():
    def event(seq: int, kind: str, item_id: str, match_id: str) -> str:
        entry = {"type": kind, "data": {"match_id": match_id, "own": {"item_id": item_id}}}
        return f"id: {seq}\nevent: {kind}\ndata: {json.dumps(entry)}\n\n"

    body = (": ping\n\n" + event(1, "match.created", "d_other", "m_1") + event(2, "match.retracted", "d_new", "m_2")
            + event(3, "match.created", "d_new", "m_3"))
    match_id, arrived = await _match_notice(httpx.Response(200, content=body.encode()), "d_new")
    assert match_id == "m_3" and arrived > 0
