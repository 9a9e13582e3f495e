"""Inbox pages: what a page reads and which cursors it refuses."""

from __future__ import annotations

from services.notification.domain import inbox
from shared.api.pagination import owner_tag

MINE = owner_tag("p_uni")


def test_a_window_reads_what_is_wanted_with_some_slack_within_the_budget_and_the_inbox():
    assert list(inbox.window(100, 21, 60)) == list(range(100, 72, -1))
    assert list(inbox.window(5, 21, 60)) == [5, 4, 3, 2, 1]
    assert list(inbox.window(100, 21, 3)) == [100, 99, 98]
    assert list(inbox.window(100, 21, 60, filtered=False)) == list(range(100, 79, -1))  # no slack without a filter


def test_the_callers_cursor_of_this_view_is_accepted():
    view = inbox.view_code(unread=True, archived=False)
    assert inbox.parse_cursor([MINE, view, 7], recipient="p_uni", view=view, head_seq=9) == 7


def test_cursors_of_someone_else_another_view_beyond_the_inbox_or_of_another_shape_are_refused():
    inbox_view, archive = inbox.view_code(unread=False, archived=False), inbox.view_code(unread=False, archived=True)
    refusals = {
        "another participant": ([owner_tag("p_ent"), inbox_view, 3], inbox_view),
        "another view": ([MINE, archive, 3], inbox_view),
        "stale cursor": ([MINE, inbox_view, 10], inbox_view),
        "invalid cursor": ([MINE, inbox_view, -1], inbox_view),
    }
    for why, (key, view) in refusals.items():
        refusal = inbox.parse_cursor(key, recipient="p_uni", view=view, head_seq=9)
        assert isinstance(refusal, str) and why in refusal, why
    for key in ([MINE, inbox_view], [MINE, inbox_view, True], [1, inbox_view, 3], [MINE, inbox_view, 2**63]):
        assert inbox.parse_cursor(key, recipient="p_uni", view=inbox_view, head_seq=9).startswith("invalid cursor")


def test_a_page_shows_the_entries_of_its_view():
    entry = {"read": True, "archived": False}
    assert inbox.shown(entry, unread=False, archived=False)
    assert not inbox.shown(entry, unread=True, archived=False)
    assert not inbox.shown(entry, unread=False, archived=True)


def test_entries_go_to_numbered_buckets_the_newest_kept_in_the_head():
    assert [inbox.bucket_of(n) for n in (1, inbox.BUCKET, inbox.BUCKET + 1, 3 * inbox.BUCKET)] == [0, 0, 1, 2]
    assert (inbox.field_of(17), inbox.seq_of("e17"), inbox.seq_of("seq"), inbox.seq_of("e")) == ("e17", 17, None, None)
    size = inbox.BUCKET
    kept = {n: f"t{n}" for n in range(size - 1, size + 1)}  # the head's bucket 0 holds its last two
    full, newest = inbox.layout(kept, {size + 1: "new", size + 2: "newer"}, size + 2)
    assert full == {0: {size - 1: f"t{size - 1}", size: f"t{size}"}}  # bucket 0 is full: a document now
    assert newest == {size + 1: "new", size + 2: "newer"}
    # an entry an earlier attempt left out of a full bucket goes back into that bucket
    assert inbox.layout({}, {3: "again", size + 1: "new"}, size + 1) == ({0: {3: "again"}}, {size + 1: "new"})
    assert inbox.layout({}, {1: "first"}, 1) == ({}, {1: "first"})
