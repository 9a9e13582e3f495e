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


def window(at: int, wanted: int, budget_left: int, *, filtered: bool = True) -> range:
    """The next sequence numbers to read downwards from ``at``: what is still wanted, plus some
    slack for entries a filter may skip (none without one: a number without its entry is a
    rare gap, and the page reads on past it), within the budget."""
    size = min(budget_left, wanted + (wanted // 4 + 2 if filtered else 0), at)
    return range(at, at - size, -1)


def shown(entry: dict[str, Any], *, unread: bool, archived: bool) -> bool:
    return entry["archived"] == archived and (not unread or not entry["read"])


# Entries are stored in buckets of a fixed size per participant: bucket ``b`` holds sequence
# numbers ``b * BUCKET + 1 .. (b + 1) * BUCKET``. The newest bucket lives in the head document, the
# full ones below it are documents of their own, so a page of ``limit`` entries is the head and
# about ``limit / BUCKET`` more look-ups, however large the inbox.
BUCKET = 20


def bucket_of(seq: int) -> int:
    return (seq - 1) // BUCKET


def field_of(seq: int) -> str:
    """The field holding entry ``seq`` in its bucket (and its flags, ``e<seq>_read`` …)."""
    return f"e{seq}"


def seq_of(field: str) -> int | None:
    """The sequence number of an entry's field; None for any other field."""
    return int(field[1:]) if field[:1] == "e" and field[1:].isdigit() else None


Texts = dict[int, str]  # entries by sequence number, each packed as JSON text


def layout(open_entries: Texts, added: Texts, seq: int) -> tuple[dict[int, Texts], Texts]:
    """Where the entries of the newest bucket (``open_entries``, kept in the head) and the ``added``
    ones go once the head's number is ``seq``: per full bucket below the newest, its entries (a
    document of its own), and the newest bucket's entries (kept in the head)."""
    newest = bucket_of(seq) if seq > 0 else 0
    full: dict[int, Texts] = {}
    kept: Texts = {}
    for number, text in sorted({**open_entries, **added}.items()):
        if bucket_of(number) < newest:
            full.setdefault(bucket_of(number), {})[number] = text
        else:
            kept[number] = text
    return full, kept
