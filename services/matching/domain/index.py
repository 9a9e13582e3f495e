"""An inverted index over open offers and needs, so candidates never come from a scan of all items.

Postings are kept per (kind, side, key): each field code an item lists, the top-level field of
each code, and each text term (with its BM25 saturation, so the text part of the score is
accumulated exactly from the postings). ``ranked`` yields the items of the opposite side and
the same kind in non-increasing order of their *index score* — the field and text part of the
match score, which the other features can raise by at most ``WEIGHT_BEYOND_INDEX``. That bound
lets ``top_partners`` stop early and still return exactly the top-k a full scan would.
"""

from __future__ import annotations

import bisect
from collections.abc import Collection, Iterator
from datetime import datetime

from shared import taxonomy
from shared.events.listing import ItemData, ItemStatus
from shared.party_types import Kind, Side

from services.matching.domain.feedback import FeedbackPenalties
from services.matching.domain.scoring import SAME_TOP_LEVEL, WEIGHT_BEYOND_INDEX, WEIGHTS, field_overlap, pair_score
from services.matching.domain.text import TextModel, saturation

_FIELD_WEIGHT = WEIGHTS["field"]
_TEXT_WEIGHT = WEIGHTS["text"]
_ROUNDING = 1e-6  # scores are rounded to 6 places; accumulated sums differ in the last bits

PostingKey = tuple[Kind, Side, str]


def opposite(side: Side) -> Side:
    return Side.NEED if side is Side.OFFER else Side.OFFER


def _code_key(code: str) -> str:
    return "=" + code


def _top_key(code: str) -> str:
    return "^" + taxonomy.top_level(code)


class CandidateIndex:
    """Open items by field code, top-level field and term; the text model is kept alongside."""

    def __init__(self, text: TextModel | None = None):
        self.text = text or TextModel()
        self._items: dict[str, ItemData] = {}
        self._fields: dict[PostingKey, set[str]] = {}
        self._terms: dict[PostingKey, dict[str, float]] = {}

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, item_id: str) -> bool:
        return item_id in self._items

    def get(self, item_id: str) -> ItemData | None:
        return self._items.get(item_id)

    def upsert(self, item: ItemData) -> None:
        """Index an item's latest version; an item that is no longer open leaves the index."""
        self.remove(item.id)
        if item.status is not ItemStatus.OPEN:
            return
        self._items[item.id] = item
        for key in self._field_keys(item):
            self._fields.setdefault((item.kind, item.side, key), set()).add(item.id)
        for term, tf in self.text.add(item).items():
            self._terms.setdefault((item.kind, item.side, term), {})[item.id] = saturation(tf)

    def remove(self, item_id: str) -> None:
        item = self._items.pop(item_id, None)
        if item is None:
            return
        for key in self._field_keys(item):
            self._discard(self._fields, (item.kind, item.side, key), item_id)
        for term in self.text.remove(item_id) or ():
            self._discard(self._terms, (item.kind, item.side, term), item_id)

    @staticmethod
    def _discard(postings: dict, key: PostingKey, item_id: str) -> None:
        posting = postings.get(key)
        if posting is None:
            return
        if isinstance(posting, set):
            posting.discard(item_id)
        else:
            posting.pop(item_id, None)
        if not posting:
            del postings[key]

    @staticmethod
    def _field_keys(item: ItemData) -> set[str]:
        return {_code_key(c) for c in item.fields} | {_top_key(c) for c in item.fields}

    def items(self, side: Side | None = None) -> list[ItemData]:
        return [i for i in self._items.values() if side is None or i.side is side]

    def candidates(self, item: ItemData, limit: int = 200) -> list[ItemData]:
        """Up to ``limit`` items of the opposite side and the same kind sharing a field or terms
        with ``item``, best index score first."""
        found: list[ItemData] = []
        for _, candidate in self.ranked(item):
            if len(found) >= limit:
                break
            found.append(candidate)
        return found

    def ranked(self, item: ItemData) -> Iterator[tuple[float, ItemData]]:
        """(index score, item) in non-increasing index score; ties by item id. Items that share
        only a field are enumerated lazily, after every better text hit."""
        side = opposite(item.side)
        relevance = self._text_hits(item, side)
        hits = sorted(
            ((_FIELD_WEIGHT * field_overlap(self._items[i].fields, item.fields) + _TEXT_WEIGHT * t, i)
             for i, t in relevance.items()),
            key=lambda hit: (-hit[0], hit[1]),
        )
        tiers = [(_FIELD_WEIGHT, [_code_key(c) for c in item.fields]),
                 (_FIELD_WEIGHT * SAME_TOP_LEVEL, [_top_key(c) for c in item.fields])]
        seen = set(relevance)
        for score, item_id in hits:
            while tiers and tiers[0][0] > score:
                yield from self._field_tier(item.kind, side, tiers.pop(0), seen)
            yield score, self._items[item_id]
        for tier in tiers:
            yield from self._field_tier(item.kind, side, tier, seen)

    def _field_tier(self, kind: Kind, side: Side, tier: tuple[float, list[str]],
                    seen: set[str]) -> Iterator[tuple[float, ItemData]]:
        score, keys = tier
        members = set().union(*(self._fields.get((kind, side, key), ()) for key in keys)) - seen
        seen |= members
        for item_id in sorted(members):
            yield score, self._items[item_id]

    def _text_hits(self, item: ItemData, side: Side) -> dict[str, float]:
        """The exact text relevance of every item of ``side`` sharing a term with ``item``."""
        query = self.text.terms(item)
        accumulated: dict[str, float] = {}
        for term, tf in query.items():
            posting = self._terms.get((item.kind, side, term))
            if not posting:
                continue
            idf = self.text.idf(term)
            if side is Side.OFFER:  # the item is the need: the query of BM25
                for item_id, offer_saturation in posting.items():
                    accumulated[item_id] = accumulated.get(item_id, 0.0) + idf * offer_saturation
            else:  # the item is the offer: the document; each need is its own query
                weight = idf * saturation(tf)
                for item_id in posting:
                    accumulated[item_id] = accumulated.get(item_id, 0.0) + weight
        if side is Side.OFFER:
            norm = self.text.self_score(query)
            return {i: min(1.0, a / norm) for i, a in accumulated.items()}
        return {i: min(1.0, a / self.text.self_score(self.text.terms(self._items[i])))
                for i, a in accumulated.items()}


def top_partners(index: CandidateIndex, item: ItemData, *, k: int, now: datetime, threshold: float = 0.0,
                 feedback: FeedbackPenalties | None = None,
                 exclude: Collection[str] = ()) -> list[tuple[float, ItemData]]:
    """Exactly the ``k`` best partners of ``item`` scoring at least ``threshold`` (score
    descending, ties by id), as a scan of every item would find them, but stopping as soon as
    no unscored candidate can still enter the top ``k``."""
    best: list[tuple[float, str, ItemData]] = []  # sorted by (-score, id)
    for index_score, candidate in index.ranked(item):
        ceiling = index_score + WEIGHT_BEYOND_INDEX + _ROUNDING
        if ceiling < threshold or (len(best) == k and -best[-1][0] > ceiling):
            break
        if candidate.id in exclude:
            continue
        offer, need = (item, candidate) if item.side is Side.OFFER else (candidate, item)
        score = pair_score(offer, need, now=now, text=index.text, feedback=feedback)
        if score is None or score < threshold:
            continue
        entry = (-score, candidate.id, candidate)
        if len(best) < k or entry[:2] < best[-1][:2]:
            bisect.insort(best, entry, key=lambda e: e[:2])
            del best[k:]
    return [(-negated, candidate) for negated, _, candidate in best]
