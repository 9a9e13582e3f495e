"""Inbox pages over numbered entries: which sequence numbers a page reads and what its cursor
holds. A page reads at most a fixed number of entries however large the inbox, so a filter that
skips many of them gives a short page with a cursor to go on from."""

from __future__ import annotations

from typing import Any

from shared.api.pagination import INVALID_CURSOR, is_position, read_scoped_cursor


def scan_budget(limit: int) -> int:
    """The most entries one page reads."""
    return max(3 * limit, 60)


def view_code(*, unread: bool, archived: bool) -> str:
    return ("u" if unread else "") + ("a" if archived else "i")


def parse_cursor(key: list[Any], *, recipient: str, view: str, head_seq: int) -> int | str:
    """The sequence number a page starts at, or why the cursor is refused (another participant's,
    another view's, or a position this inbox never had)."""
    position = read_scoped_cursor(key, subject=recipient, view=view, size=1)
    if isinstance(position, str):
        return position
    (at,) = position
    if not is_position(at, 2**63):
        return INVALID_CURSOR
    if at > head_seq:
        return "stale cursor: beyond the newest entry / 游标已失效"
    return int(at)


def window(at: int, wanted: int, budget_left: int) -> range:
    """The next sequence numbers to read downwards from ``at``: what is still wanted, plus some
    slack for entries the filter may skip, within the budget."""
    size = min(budget_left, wanted + wanted // 4 + 2, at)
    return range(at, at - size, -1)


def shown(entry: dict[str, Any], *, unread: bool, archived: bool) -> bool:
    return entry["archived"] == archived and (not unread or not entry["read"])
