"""Inbox pages: what a page reads and which cursors it refuses."""

from __future__ import annotations

from services.notification.domain import inbox
from shared.api.pagination import owner_tag

MINE = owner_tag("p_uni")


def test_a_window_reads_what_is_wanted_with_some_slack_within_the_budget_and_the_inbox():
    assert list(inbox.window(100, 21, 60)) == list(range(100, 72, -1))
    assert list(inbox.window(5, 21, 60)) == [5, 4, 3, 2, 1]
    assert list(inbox.window(100, 21, 3)) == [100, 99, 98]


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
