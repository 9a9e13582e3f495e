"""Inbox pages over numbered entries: which sequence numbers a page reads and what its cursor
holds. A page reads at most a fixed number of entries however large the inbox, so a filter that
skips many of them gives a short page with a cursor to go on from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.api.pagination import owner_tag


def scan_budget(limit: int) -> int:
    """The most entries one page reads."""
    return max(3 * limit, 60)


def view_code(*, unread: bool, archived: bool) -> str:
    return ("u" if unread else "") + ("a" if archived else "i")


@dataclass(frozen=True)
class InboxCursor:
    """Where the next page starts: below sequence number ``before`` + 1, i.e. at ``before``."""
    owner: str
    view: str
    at: int

    def key(self) -> list[Any]:
        return [self.owner, self.view, self.at]


def parse_cursor(key: list[Any], *, recipient: str, view: str, head_seq: int) -> InboxCursor | str:
    """The cursor, or why it is refused (another participant's, another view's, or a position
    this inbox never had)."""
    if len(key) != 3 or not all(isinstance(k, str) for k in key[:2]) or not _is_position(key[2]):
        return "invalid cursor / 无效的分页游标"
    cursor = InboxCursor(*key)
    if cursor.owner != owner_tag(recipient):
        return "this cursor belongs to another participant / 该分页游标属于其他参与者"
    if cursor.view != view:
        return "this cursor belongs to another view of this list (its filters) / 该游标属于列表的其他视图"
    if cursor.at > head_seq:
        return "stale cursor: beyond the newest entry / 游标已失效"
    return cursor


def _is_position(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63


def window(at: int, wanted: int, budget_left: int) -> range:
    """The next sequence numbers to read downwards from ``at``: what is still wanted, plus some
    slack for entries the filter may skip, within the budget."""
    size = min(budget_left, wanted + wanted // 4 + 2, at)
    return range(at, at - size, -1)


def shown(entry: dict[str, Any], *, unread: bool, archived: bool) -> bool:
    return entry["archived"] == archived and (not unread or not entry["read"])
