"""An inverted index over open offers and needs, so candidates never come from a scan of all items.

Postings are kept per (kind, side, key): each field code an item lists, the top-level field of
each code, and each text term (with its BM25 saturation, so the text part of the score is
accumulated exactly from the postings) — a term once for the kind and side and once more per
top-level field of the item, so a query reads the candidates in its own fields first. The *index score* of a candidate is the field and text
part of its match score; the other features can add at most ``WEIGHT_BEYOND_INDEX``.

``candidates``/``ranked`` list candidates by index score. ``top_partners`` finds exactly the
top-k a scan of every item would, reading as little as it can (MaxScore, driven by the k-th best
score found so far): the postings of the query's common terms are never read once even a full
share of them could not lift a candidate to the k-th best score.
"""

from __future__ import annotations

import bisect
from collections.abc import Collection, Iterator
from datetime import datetime

from shared import taxonomy
from shared.events.listing import ItemData, ItemStatus
from shared.party_types import Kind, Side

from services.matching.domain.feedback import FeedbackPenalties
from services.matching.domain.scoring import (
    SAME_TOP_LEVEL, WEIGHT_BEYOND_INDEX, WEIGHTS, pair_score, practical_score,
)
from services.matching.domain.text import TextModel, saturation

_FIELD_WEIGHT = WEIGHTS["field"]
_TEXT_WEIGHT = WEIGHTS["text"]
SEED_CANDIDATES = 64  # candidates from the rarest terms, scored first to learn a k-th best score
_ROUNDING = 1e-6  # scores are rounded to 6 places; accumulated sums differ in the last bits

PostingKey = tuple[Kind, Side, str]
Term = tuple[dict[str, float], float, float]  # a query term: (posting, weight, ceiling of its share)


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
        # (kind, side, term) and (kind, side, term, top-level field) -> {item id: BM25 saturation}
        self._terms: dict[tuple, dict[str, float]] = {}
        self._term_ceiling: dict[tuple, float] = {}  # never below the posting's largest value
        self._shapes: dict[str, tuple[frozenset[str], frozenset[str]]] = {}  # item id -> (codes, top-levels)

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
        self._shapes[item.id] = (frozenset(item.fields), frozenset(taxonomy.top_level(c) for c in item.fields))
        for key in self._field_keys(item):
            self._fields.setdefault((item.kind, item.side, key), set()).add(item.id)
        for term, tf in self.text.add(item).items():
            value = saturation(tf)
            for key in self._term_keys(item, term):
                self._terms.setdefault(key, {})[item.id] = value
                self._term_ceiling[key] = max(self._term_ceiling.get(key, 0.0), value)

    def remove(self, item_id: str) -> None:
        item = self._items.pop(item_id, None)
        if item is None:
            return
        for key in self._field_keys(item):
            self._discard(self._fields, (item.kind, item.side, key), item_id)
        for term in self.text.remove(item_id) or ():
            for key in self._term_keys(item, term):
                if self._discard(self._terms, key, item_id):
                    del self._term_ceiling[key]
        del self._shapes[item_id]

    @staticmethod
    def _discard(postings: dict, key: PostingKey, item_id: str) -> bool:
        """Take the item out of one posting; True when the posting became empty and went."""
        posting = postings.get(key)
        if posting is None:
            return False
        if isinstance(posting, set):
            posting.discard(item_id)
        else:
            posting.pop(item_id, None)
        if posting:
            return False
        del postings[key]
        return True

    def _term_keys(self, item: ItemData, term: str) -> list[tuple]:
        """A term is posted once for the kind and side, and once more per top-level field of the
        item, so a query can first read only the candidates in its own fields."""
        return [(item.kind, item.side, term), *((item.kind, item.side, term, top) for top in self._shapes[item.id][1])]

    @staticmethod
    def _field_keys(item: ItemData) -> set[str]:
        return {_code_key(c) for c in item.fields} | {_top_key(c) for c in item.fields}

    def candidates(self, item: ItemData, limit: int = 200) -> list[ItemData]:
        """Up to ``limit`` items of the opposite side and the same kind sharing a field or terms
        with ``item``, best index score first (ties by id)."""
        found: list[ItemData] = []
        for _, candidate in self.ranked(item):
            if len(found) >= limit:
                break
            found.append(candidate)
        return found

    def ranked(self, item: ItemData) -> Iterator[tuple[float, ItemData]]:
        """(index score, item) in non-increasing index score, ties by id. Items sharing only a
        field (no term) are gathered lazily, when their turn comes."""
        query = _Query(self, item, scoped=False)
        hits = query.hits(query.terms)
        ranked = sorted(((query.index_score(i), i) for i in hits), key=lambda e: (-e[0], e[1]))
        groups = query.field_groups()
        for score, item_id in ranked:
            while groups and groups[0][0] > score:
                yield from self._field_only(groups.pop(0), hits)
            yield score, self._items[item_id]
        for group in groups:
            yield from self._field_only(group, hits)

    def _field_only(self, group: tuple[float, list[Collection[str]]], seen: set[str]) -> Iterator[tuple[float, ItemData]]:
        ceiling, postings = group
        members = set().union(*postings) - seen
        seen |= members
        for item_id in sorted(members):
            yield ceiling, self._items[item_id]


class _Query:
    """One item's query against the postings of the opposite side, same kind."""

    def __init__(self, index: CandidateIndex, item: ItemData, *, scoped: bool):
        """``scoped``: read only the postings of the item's own top-level fields."""
        self.index, self.kind, self.side = index, item.kind, opposite(item.side)
        self.codes = frozenset(item.fields)
        self.tops = frozenset(taxonomy.top_level(c) for c in item.fields)
        text = index.text
        counts = text.terms(item)
        # Each (posting, weight, ceiling): a candidate's text score is the sum of weight × its
        # posting value over the terms it shares; ceiling bounds one term's share.
        self.terms: list[Term] = []
        # The need is BM25's query: one norm for all offers. An offer as the query meets needs that
        # each normalise by their own terms, so there the sum is divided per candidate.
        self.per_candidate_norm = self.side is Side.NEED
        norm = 1.0 if self.per_candidate_norm else text.item_self_score(item)
        for term in sorted(counts):
            keys = ([(item.kind, self.side, term, top) for top in sorted(self.tops)] if scoped
                    else [(item.kind, self.side, term)])
            keys = [key for key in keys if key in index._terms]
            if not keys:
                continue
            posting = index._terms[keys[0]] if len(keys) == 1 else {
                item_id: value for key in keys for item_id, value in index._terms[key].items()}
            if self.per_candidate_norm:
                weight, ceiling = text.idf(term) * saturation(counts[term]), 1.0
            else:
                weight = text.idf(term) / norm
                ceiling = weight * max(index._term_ceiling[key] for key in keys)
            self.terms.append((posting, weight, ceiling))

    @staticmethod
    def hits(terms: list[Term]) -> set[str]:
        found: set[str] = set()
        for posting, _, _ in terms:
            found.update(posting)
        return found

    def field_groups(self) -> list[tuple[float, list[Collection[str]]]]:
        """Items sharing a sub-field, then a top-level field, with the index score they have
        when they share no term."""
        fields = self.index._fields
        return [(_FIELD_WEIGHT, [fields.get((self.kind, self.side, _code_key(c)), ()) for c in self.codes]),
                (_FIELD_WEIGHT * SAME_TOP_LEVEL, [fields.get((self.kind, self.side, _top_key(t)), ()) for t in self.tops])]

    def field_score(self, item_id: str) -> float:
        codes, tops = self.index._shapes[item_id]
        if not codes.isdisjoint(self.codes):
            return _FIELD_WEIGHT
        return _FIELD_WEIGHT * SAME_TOP_LEVEL if not tops.isdisjoint(self.tops) else 0.0

    def text_sum(self, item_id: str, terms: list[Term]) -> float:
        total = 0.0
        for posting, weight, _ in terms:
            value = posting.get(item_id)
            if value is not None:
                total += weight * (1.0 if self.per_candidate_norm else value)
        if total and self.per_candidate_norm:
            total /= self.index.text.item_self_score(self.index._items[item_id])
        return min(1.0, total)

    def bounded(self, essential: list[Term], common_ceiling: float, field_ceiling: float,
                best: _TopK, exclude: set[str]) -> Iterator[tuple[float, float, str]]:
        """(field share, essential text, id) of the candidates the essential postings reach, by
        non-increasing essential text, while one with ``field_ceiling`` as its field share could
        still enter. The text of a need's query is summed term at a time, posting by posting."""
        if self.per_candidate_norm:
            texts = {i: self.text_sum(i, essential) for i in self.hits(essential) - exclude}
        else:
            texts = {}
            for posting, weight, _ in essential:
                for item_id, value in posting.items():
                    texts[item_id] = texts.get(item_id, 0.0) + weight * value
        # with the best field share, the essential text a candidate needs to have a chance at all
        needed = (best.bar - _ROUNDING - field_ceiling - WEIGHT_BEYOND_INDEX) / _TEXT_WEIGHT - common_ceiling
        for negated, item_id in sorted((-t, i) for i, t in texts.items() if t >= needed and i not in exclude):
            if best.hopeless(field_ceiling + _TEXT_WEIGHT * min(1.0, common_ceiling - negated) + WEIGHT_BEYOND_INDEX):
                return
            yield self.field_score(item_id), -negated, item_id

    def index_score(self, item_id: str) -> float:
        return self.field_score(item_id) + _TEXT_WEIGHT * self.text_sum(item_id, self.terms)


class _TopK:
    """The k best (score, id) so far and the score a newcomer must reach."""

    def __init__(self, k: int, threshold: float):
        self.k, self.threshold = k, threshold
        self.entries: list[tuple[float, str, ItemData]] = []  # sorted by (-score, id)

    @property
    def bar(self) -> float:
        return -self.entries[-1][0] if len(self.entries) == self.k else self.threshold

    def hopeless(self, ceiling: float) -> bool:
        """True when a candidate whose score cannot exceed ``ceiling`` cannot enter."""
        return ceiling + _ROUNDING < self.bar

    def offer(self, score: float | None, candidate: ItemData) -> None:
        if score is None or score < self.threshold:
            return
        entry = (-score, candidate.id, candidate)
        if len(self.entries) < self.k or entry[:2] < self.entries[-1][:2]:
            bisect.insort(self.entries, entry, key=lambda e: e[:2])
            del self.entries[self.k:]


def top_partners(index: CandidateIndex, item: ItemData, *, k: int, now: datetime, threshold: float = 0.0,
                 feedback: FeedbackPenalties | None = None,
                 exclude: Collection[str] = ()) -> list[tuple[float, ItemData]]:
    """Exactly the ``k`` best partners of ``item`` scoring at least ``threshold`` (score
    descending, ties by id) — what scoring every item would give, without scoring every item.

    Every candidate has a ceiling: its field share, its text (or a bound on it) and a full share
    of the practical features; a candidate whose ceiling is below the k-th best score so far is
    never scored, and a group of candidates whose common ceiling is below it is never read.

    1. Seed: score the best candidates the rarest terms reach, for a first k-th best score.
    2. Candidates in the item's own top-level fields sharing terms (MaxScore): the most common
       terms are set aside while even a full share of them (with a full field share) could not
       lift a candidate in — their postings are only looked up, never read through; the postings
       of the other terms are summed, and candidates scored by falling text.
    3. Candidates sharing a field but none of those other terms: read only if their field share,
       a full share of the common terms and of the practical features could enter.
    4. Candidates of other fields sharing terms (field share 0): the same as 2, read only if
       text + practical could enter.
    """
    search = _Search(index, item, k=k, now=now, threshold=threshold, feedback=feedback, exclude=exclude)
    scoped = _Query(index, item, scoped=True)
    search.seed(scoped)
    reached, common, common_ceiling = search.scan(scoped, _FIELD_WEIGHT)
    for field_share, postings in scoped.field_groups():
        if search.best.hopeless(field_share + _TEXT_WEIGHT * min(1.0, common_ceiling) + WEIGHT_BEYOND_INDEX):
            break
        for candidate_id in sorted(set().union(*postings) - reached - search.scored):
            search.score(candidate_id, scoped.field_score(candidate_id)
                         + _TEXT_WEIGHT * scoped.text_sum(candidate_id, common) + WEIGHT_BEYOND_INDEX)
    everywhere = _Query(index, item, scoped=False)
    if not search.best.hopeless(_TEXT_WEIGHT * min(1.0, sum(t[2] for t in everywhere.terms)) + WEIGHT_BEYOND_INDEX):
        search.scan(everywhere, 0.0, other_fields_of=scoped)
    return [(-negated, candidate) for negated, _, candidate in search.best.entries]


class _Search:
    def __init__(self, index: CandidateIndex, item: ItemData, *, k: int, now: datetime, threshold: float,
                 feedback: FeedbackPenalties | None, exclude: Collection[str]):
        self.index, self.item, self.now, self.feedback = index, item, now, feedback
        self.best = _TopK(k, threshold)
        self.scored: set[str] = set(exclude)

    def score(self, candidate_id: str, ceiling: float) -> None:
        """Score a candidate unless its ceiling — first as given (with a full practical share),
        then with its exact practical part (cheap: no text) — says it cannot enter."""
        self.scored.add(candidate_id)
        if self.best.hopeless(ceiling):
            return
        candidate = self.index._items[candidate_id]
        offer, need = (self.item, candidate) if self.item.side is Side.OFFER else (candidate, self.item)
        if self.best.hopeless(ceiling - WEIGHT_BEYOND_INDEX + practical_score(offer, need, self.now)):
            return
        self.best.offer(pair_score(offer, need, now=self.now, text=self.index.text, feedback=self.feedback),
                        candidate)

    def seed(self, query: _Query) -> None:
        seeds: set[str] = set()
        for posting, _, _ in sorted(query.terms, key=lambda t: len(t[0])):
            if len(seeds) >= SEED_CANDIDATES:
                break
            seeds.update(posting)
        for _, candidate_id in sorted((-query.index_score(i), i) for i in seeds - self.scored)[:self.best.k]:
            self.score(candidate_id, 1.0)

    def scan(self, query: _Query, field_ceiling: float,
             other_fields_of: _Query | None = None) -> tuple[set[str], list[Term], float]:
        """Score the candidates reached by the query's essential terms whose field share is at
        most ``field_ceiling`` (skipping those in ``other_fields_of``'s fields, if given).
        Returns the ids reached, and the common terms set aside with their summed ceiling: no
        candidate reached by those alone can enter."""
        essential, common, common_ceiling = self._split(query.terms, field_ceiling)
        reached = query.hits(essential)
        for field, text, candidate_id in query.bounded(essential, common_ceiling, field_ceiling, self.best,
                                                       self.scored):
            if other_fields_of is not None and other_fields_of.field_score(candidate_id):
                continue  # in the item's own fields: already considered
            if self.best.hopeless(field + _TEXT_WEIGHT * min(1.0, text + common_ceiling) + WEIGHT_BEYOND_INDEX):
                continue
            # the exact text: the essential part plus a look-up in each common posting
            self.score(candidate_id, field + _TEXT_WEIGHT * min(1.0, text + query.text_sum(candidate_id, common))
                       + WEIGHT_BEYOND_INDEX)
        return reached, common, common_ceiling

    def _split(self, terms: list[Term], field_ceiling: float) -> tuple[list[Term], list[Term], float]:
        """(essential, common, common ceiling): the terms with the longest postings are common
        while a candidate sharing only them could not enter."""
        common: list[Term] = []
        ceiling = 0.0
        for term in sorted(terms, key=lambda t: -len(t[0])):
            if not self.best.hopeless(field_ceiling + _TEXT_WEIGHT * min(1.0, ceiling + term[2]) + WEIGHT_BEYOND_INDEX):
                break
            common.append(term)
            ceiling += term[2]
        return [t for t in terms if not any(t is c for c in common)], common, ceiling
