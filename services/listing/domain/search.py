"""Search over offers and needs as an inverted index of fixed-size buckets, so that every page is a
bounded number of look-ups by ``_id`` (FerretDB v1 answers no other filter without a scan).

Every item gets, at creation, a bucket: the n-th item of a side is in bucket ``n // BUCKET_SIZE``,
so a bucket never holds more than ``BUCKET_SIZE`` items, and newer items are in higher buckets. An
item has index terms (``status:open``, ``kind:technology``, ``field:EIT``, ``text:量子``, …); for
every term there is a head listing the buckets that hold it, and per term and bucket a posting of
the items' ids. A search's terms are those of its filters; a page reads the terms' heads, walks
the buckets all of them share from the newest down, and intersects the terms' postings there.

The postings hold at least the items that have a term (a term is posted before the item is
written with it, and withdrawn after), so a page checks each item it found against the terms it
asked for. A page reads at most ``BUCKET_BUDGET`` buckets: a rare combination gives a short page
with a cursor to go on from, never a long read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from services.listing.domain.items import ItemQuery
from shared.api.pagination import INVALID_CURSOR, is_position, read_scoped_cursor
from shared.party_types import Side

BUCKET_SIZE = 200
BUCKET_BUDGET = 24
EVERY_ITEM = "all"  # the term of every item: a search without filters


def item_terms(*, status: str, kind: str, party_type: str, owner_id: str, field_index: Iterable[str],
               region_index: Iterable[str], text_terms: Iterable[str]) -> set[str]:
    """The index terms of an item, from what the store keeps of it."""
    return {EVERY_ITEM, f"status:{status}", f"kind:{kind}", f"party:{party_type}", owner_term(owner_id),
            *(f"field:{code}" for code in field_index), *(f"region:{code}" for code in region_index),
            *(f"text:{term}" for term in text_terms)}


def owner_term(owner_id: str) -> str:
    """The term of every item of one owner, in any status (an item's owner never changes, so it is
    never withdrawn)."""
    return f"owner:{owner_id}"


def query_terms(query: ItemQuery) -> list[str]:
    """The terms every item of the answer has (sorted: the search's identity in a cursor)."""
    terms = []
    status = query.effective_status()
    if status is not None:
        terms.append(f"status:{status.value}")
    if query.owner_only():
        terms.append(owner_term(query.subject))
    if query.kind is not None:
        terms.append(f"kind:{query.kind.value}")
    if query.party_type is not None:
        terms.append(f"party:{query.party_type.value}")
    if query.field is not None:
        terms.append(f"field:{query.field}")
    if query.region is not None:
        terms.append(f"region:{query.region}")
    terms += [f"text:{term}" for term in query.terms]
    return sorted(terms) or [EVERY_ITEM]


def search_code(side: Side, query: ItemQuery) -> str:
    """What a cursor carries of its search: a cursor of another search is refused."""
    return hashlib.sha256("\n".join([side.value, *query_terms(query)]).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Position:
    """Where a page starts: bucket ``bucket``, at the ids below ``below`` (all of it when None),
    then the lower buckets."""

    bucket: int
    below: str | None = None

    def admits(self, bucket: int, item_id: str) -> bool:
        return bucket < self.bucket or (bucket == self.bucket and (self.below is None or item_id < self.below))


def parse_cursor(key: list[Any], *, subject: str, search: str, newest_bucket: int) -> Position | str:
    """Where the page starts, or why the cursor is refused (another caller's, another search's, or a
    bucket the index never had)."""
    position = read_scoped_cursor(key, subject=subject, view=search, size=2,
                                  view_name=("search (side, filters or words)", "其他搜索"))
    if isinstance(position, str):
        return position
    bucket, below = position
    if not is_position(bucket, 2**53) or not (below is None or (isinstance(below, str) and 0 < len(below) <= 100)):
        return INVALID_CURSOR
    if bucket > newest_bucket:
        return "stale cursor: beyond the newest item / 游标已失效"
    return Position(bucket, below)


def shared_buckets(heads: Sequence[Iterable[int]], start: Position | None) -> list[int]:
    """The buckets every term has, newest first, from the start's bucket down."""
    common = set.intersection(*(set(buckets) for buckets in heads)) if heads else set()
    return sorted((b for b in common if start is None or b <= start.bucket), reverse=True)


def intersect(postings: Sequence[Iterable[str]]) -> list[str]:
    """The ids in every posting, highest (newest) first."""
    common = set.intersection(*(set(ids) for ids in postings)) if postings else set()
    return sorted(common, reverse=True)
