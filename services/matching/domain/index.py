"""An inverted index over open offers and needs, so candidates never come from a scan of all items.

Two views of the same items, per kind and side:

- *Postings*: each text term -> the items with it, and the largest BM25 saturation among them.
- *Partitions*: the items listing a field in one top-level field, each in a numbered slot, with
  bit sets over the slots (Python ints): per field code listed, per TRL, per owner party type,
  per period of last update, per set of transfer modes, per currency and band of the least and of
  the largest amount, per region, per region preference (and whether required), and per term one
  per term-frequency level (the slots whose item has the term at least once, at least twice, ...).

The *index score* of a candidate is the field and text part of its match score; the other
(practical) features can add at most ``WEIGHT_BEYOND_INDEX``. ``top_partners`` finds exactly the
top-k a scan of every item would:
in each partition of the query's top-level fields it drops the groups a hard rule excludes (TRL
floor, transfer modes, amounts, required regions) and the slots whose text could not be evidence,
adds up, for all other slots at once with
bit-sliced integer arithmetic (a few big-int operations per query term and bit set, whatever the
number of items), a bound on every candidate's score — its field and text share, TRL, party,
freshness, amount and region fit — and scores candidates by falling bound until the bound drops
below the k-th best score found so far. Candidates of other top-level fields (field share 0) are reached through the
postings of the query's rarer terms only (MaxScore).

A query from an offer meets needs that each divide the text they share by their own norm (their
BM25 score against themselves, ``TextModel.item_self_score``), so a term's share of a need's text
is bounded through that norm: the partitions of needs group their slots by norm in geometric
bands (``NORM_RATIO``), and each posting of needs keeps the least norm in it. Norms follow from
the text statistics' snapshot, which is refreshed as the corpus changes; the bands are kept under
the snapshot they were worked out with (``_NormBasis``), and each refresh only works out how far
any norm can have fallen since: the least ratio of a term's idf now to its idf then (``slack``),
which the bounds are multiplied by. Only when that falls below ``REBASE_BELOW``, or the corpus
grew or shrank by as much (idf follows its size, so norms under an old snapshot would bound
loosely), are the bands and least norms worked out again, under the new snapshot: a cost of the
whole corpus's terms paid by one query every few refreshes, not by the first query into each
partition after every refresh. A removed need may leave a posting's least
norm lower than it is, which only loosens the bound.
"""

from __future__ import annotations

import bisect
import heapq
import math
from collections.abc import Callable, Collection, Hashable, Iterable, Iterator
from datetime import datetime
from functools import cache
from typing import Any, TypeVar

from shared import taxonomy
from shared.events.listing import ItemData, ItemStatus
from shared.party_types import Kind, PartyType, Side

from services.matching.domain.feedback import FeedbackPenalties
from services.matching.domain.priors import ConversionPriors
from services.matching.domain.scoring import (
    SAME_TOP_LEVEL, TEXT_FLOOR, UNKNOWN, WEIGHT_BEYOND_INDEX, WEIGHTS, freshness_after, pair_score, pairing_fit,
    practical_score, preference_allows, preference_fit, trl_fit, with_prior,
)
from services.matching.domain.text import K1, TextModel, idf_of, saturation

_FIELD_WEIGHT = WEIGHTS["field"]
_TEXT_WEIGHT = WEIGHTS["text"]
GroupKey = TypeVar("GroupKey", bound=Hashable)
_ROUNDING = 1e-6  # scores are rounded to 6 places; accumulated sums differ in the last bits
TF_LEVELS = 3  # a partition tells term frequencies 1, 2 and 3 or more apart
UNITS = 1024  # the bit-sliced bounds count score in 1/UNITS, each share rounded up
BAND = UNITS // 32  # candidates are taken in bands of this many units of bound, best band first
UPDATE_PERIOD_SECONDS = 30 * 86400  # a partition bounds freshness by the period of the last update
NORM_RATIO = 1.25  # needs' norms are banded [r^b, r^(b+1)): a finer band bounds tighter, costs more bit sets
_NORM_LOG = math.log(NORM_RATIO)
REBASE_BELOW = 0.9  # the slack at which needs' norms are banded again under the current statistics
# the field share of every item in one of the query's top-level fields; more if it lists a query code
_TOP_SHARE = _FIELD_WEIGHT * SAME_TOP_LEVEL
_CODE_BONUS = math.ceil(UNITS * (_FIELD_WEIGHT - _TOP_SHARE))
# a candidate not listing a query code needs this much text share (in UNITS, rounded down) to be evidence
_EVIDENCE_UNITS = math.floor(UNITS * _TEXT_WEIGHT * TEXT_FLOOR * (1 - 1e-9))
# amounts are grouped by the band of their least and of their largest amount: [b_(i-1), b_i), ten per decade
AMOUNT_BANDS = tuple(10 ** (i / 10) for i in range(131))

_saturation = cache(saturation)  # memoised: term frequencies are few small numbers

PostingKey = tuple[Kind, Side, str]


def opposite(side: Side) -> Side:
    return Side.NEED if side is Side.OFFER else Side.OFFER


def _update_period(item: ItemData) -> int:
    return int(item.updated_at.timestamp() // UPDATE_PERIOD_SECONDS)


def _amount_band(amount: float) -> int:
    """The band of an amount: ``AMOUNT_BANDS[band - 1] <= amount < AMOUNT_BANDS[band]``."""
    return bisect.bisect_right(AMOUNT_BANDS, amount)


def _norm_band(norm: float) -> int:
    return math.floor(math.log(norm) / _NORM_LOG)


def _band_floor(band: int) -> float:
    """A norm no band member is below (a hair under r^b, for rounding)."""
    return NORM_RATIO ** band * (1 - 1e-9)


def _include(groups: dict[Any, int], key: Hashable, bit: int) -> None:
    groups[key] = groups.get(key, 0) | bit


def _exclude(groups: dict[Any, int], key: Hashable, bit: int) -> None:
    if rest := groups[key] ^ bit:
        groups[key] = rest
    else:
        del groups[key]


class _Partition:
    """The open items of one kind and side listing a field in one top-level field, as bit sets
    over slots."""

    def __init__(self) -> None:
        self.ids: list[str | None] = []  # slot -> item id
        self.slots: dict[str, int] = {}
        self._free: list[int] = []  # a heap: the lowest free slot is reused first, to keep bit sets short
        self.occupied = 0
        self.codes: dict[str, int] = {}
        self.trls: dict[int | None, int] = {}
        self.parties: dict[PartyType, int] = {}
        self.updated: dict[int, int] = {}  # by update period
        self.regions: dict[str | None, int] = {}  # by the item's own region
        self.preferences: dict[tuple[tuple[str, ...], bool], int] = {}  # by region preference and whether required
        self.modes: dict[frozenset[str], int] = {}  # by the transfer modes listed
        self.amounts: dict[tuple[str, int] | None, int] = {}  # by currency and band of the least amount; None: none
        self.amount_tops: dict[tuple[str, int], int] = {}  # by currency and band of the largest amount (none: inf)
        self.terms: dict[str, list[int]] = {}  # term -> [slots with it at least once, twice, ...]
        self.norms: dict[int, int] = {}  # needs only: slots by band of norm (``_NormBasis``)

    def __bool__(self) -> bool:
        return bool(self.slots)

    def _facets(self, item: ItemData, codes: Iterable[str]) -> Iterator[tuple[dict[Any, int], Hashable]]:
        """The bit-set groups an item belongs to, with its key in each (terms aside)."""
        for code in codes:
            yield self.codes, code
        yield self.trls, item.trl
        yield self.parties, item.owner_party_type
        yield self.updated, _update_period(item)
        yield self.regions, item.region
        yield self.preferences, (tuple(item.region_preference), item.region_required)
        yield self.modes, frozenset(item.transfer_modes)
        amount = item.amount
        yield self.amounts, None if amount is None else (amount.currency, _amount_band(amount.min or 0.0))
        if amount is not None:
            top = amount.max if amount.max is not None else math.inf
            yield self.amount_tops, (amount.currency, _amount_band(top))

    def add(self, item: ItemData, codes: Iterable[str], counts: dict[str, int]) -> None:
        slot = heapq.heappop(self._free) if self._free else len(self.ids)
        if slot == len(self.ids):
            self.ids.append(item.id)
        else:
            self.ids[slot] = item.id
        self.slots[item.id] = slot
        bit = 1 << slot
        self.occupied |= bit
        for groups, key in self._facets(item, codes):
            _include(groups, key, bit)
        for term, tf in counts.items():
            levels = self.terms.get(term)
            if levels is None:
                self.terms[term] = [bit] * min(tf, TF_LEVELS)
                continue
            for level in range(min(tf, TF_LEVELS)):
                if level < len(levels):
                    levels[level] |= bit
                else:
                    levels.append(bit)

    def remove(self, item: ItemData, codes: Iterable[str], counts: dict[str, int]) -> None:
        """Take the item out; ``codes`` and ``counts`` are what it was added with."""
        slot = self.slots.pop(item.id)
        bit = 1 << slot
        self.ids[slot] = None
        heapq.heappush(self._free, slot)
        self.occupied ^= bit
        for groups, key in self._facets(item, codes):
            _exclude(groups, key, bit)
        for term, tf in counts.items():
            levels = self.terms[term]
            for level in range(min(tf, TF_LEVELS)):
                levels[level] ^= bit
            while levels and not levels[-1]:
                levels.pop()
            if not levels:
                del self.terms[term]
        for band in [b for b, slots in self.norms.items() if slots & bit]:
            _exclude(self.norms, band, bit)

    def listing(self, codes: Iterable[str]) -> int:
        """The slots listing any of ``codes``."""
        found = 0
        for code in codes:
            found |= self.codes.get(code, 0)
        return found

    def ids_of(self, slots: int) -> list[str]:
        """The ids of the items in ``slots``, lowest slot first."""
        ids: list[str] = []
        while slots:
            lowest = slots & -slots
            item_id = self.ids[lowest.bit_length() - 1]
            assert item_id is not None  # an occupied slot holds its item's id
            ids.append(item_id)
            slots ^= lowest
        return ids


def _add(sums: list[int], slots: int, amount: int) -> None:
    """Add ``amount`` to the bit-sliced sum of each of ``slots``: ``sums[i]`` holds bit i of
    every slot's sum, so one addition is a ripple of carries through a few big-int operations."""
    sums.extend([0] * (amount.bit_length() - len(sums)))
    plane = 0
    while amount:
        if amount & 1:
            carry, i = slots, plane
            while carry:
                if i == len(sums):
                    sums.append(carry)
                    break
                bits = sums[i]
                sums[i] = bits ^ carry
                carry &= bits
                i += 1
        amount >>= 1
        plane += 1


def _at_least(sums: list[int], value: int, slots: int) -> int:
    """Those of ``slots`` whose bit-sliced sum is at least ``value``."""
    if value <= 0:
        return slots
    if value >> len(sums):
        return 0
    above, equal = 0, slots
    for i in reversed(range(len(sums))):
        if value >> i & 1:
            equal &= sums[i]
        else:
            above |= equal & sums[i]
            equal &= ~sums[i]
        if not equal:
            break
    return above | equal


def _highest(sums: list[int], slots: int) -> int:
    """The largest bit-sliced sum among ``slots`` (not empty)."""
    value = 0
    for i in reversed(range(len(sums))):
        if slots & sums[i]:
            slots &= sums[i]
            value |= 1 << i
    return value


def _add_fit_shares(sums: list[int], groups: dict[GroupKey, int], weight: float,
                    fit: Callable[[GroupKey], float]) -> int:
    """Add to the slots of each group its share of ``weight`` (by its fit, in UNITS rounded up)
    beyond the least share, which every slot has: that one is returned, not added."""
    shares = {key: math.ceil(UNITS * weight * fit(key)) for key in groups}
    least = min(shares.values())
    extra_slots: dict[int, int] = {}  # groups of equal share are added at once
    for key, share in shares.items():
        if share > least:
            _include(extra_slots, share - least, groups[key])
    for extra, slots in extra_slots.items():
        _add(sums, slots, extra)
    return least


class CandidateIndex:
    """Open items by term and by top-level field; the text model is kept alongside."""

    def __init__(self, text: TextModel | None = None):
        self.text = text if text is not None else TextModel()  # an empty model is falsy (__len__)
        self._items: dict[str, ItemData] = {}
        self._terms: dict[PostingKey, set[str]] = {}
        self._term_ceiling: dict[PostingKey, float] = {}  # never below the largest saturation in the posting
        self._partitions: dict[tuple[Kind, Side, str], _Partition] = {}  # by kind, side and top-level field
        # item id -> (field codes, top-level fields, term counts)
        self._shapes: dict[str, tuple[frozenset[str], frozenset[str], dict[str, int]]] = {}
        self._basis = _NormBasis(self.text)
        self._least_norm: dict[PostingKey, float] = {}  # postings of needs: the least norm in it, or lower

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, item_id: str) -> bool:
        return item_id in self._items

    def get(self, item_id: str) -> ItemData | None:
        return self._items.get(item_id)

    def item(self, item_id: str) -> ItemData:
        """An open item known to be indexed (a KeyError otherwise)."""
        return self._items[item_id]

    def upsert(self, item: ItemData) -> None:
        """Index an item's latest version; an item that is no longer open leaves the index."""
        self.remove(item.id)
        if item.status is not ItemStatus.OPEN:
            return
        self._items[item.id] = item
        codes = frozenset(item.fields)
        tops = frozenset(taxonomy.top_level(c) for c in codes)
        counts = self.text.add(item)
        self._shapes[item.id] = (codes, tops, counts)
        norm = self._basis.norm(counts) if item.side is Side.NEED and counts else 0.0
        for top in tops:
            partition = self._partitions.setdefault((item.kind, item.side, top), _Partition())
            partition.add(item, _codes_in(codes, top), counts)
            if norm:
                _include(partition.norms, _norm_band(norm), 1 << partition.slots[item.id])
        for term, tf in counts.items():
            key = (item.kind, item.side, term)
            self._terms.setdefault(key, set()).add(item.id)
            self._term_ceiling[key] = max(self._term_ceiling.get(key, 0.0), saturation(tf))
            if norm:
                self._least_norm[key] = min(norm, self._least_norm.get(key, norm))

    def remove(self, item_id: str) -> None:
        item = self._items.pop(item_id, None)
        if item is None:
            return
        codes, tops, counts = self._shapes.pop(item_id)
        self.text.remove(item_id)
        for top in tops:
            key = (item.kind, item.side, top)
            partition = self._partitions[key]
            partition.remove(item, _codes_in(codes, top), counts)
            if not partition:
                del self._partitions[key]
        for term in counts:
            key = (item.kind, item.side, term)
            posting = self._terms[key]
            posting.discard(item_id)
            if not posting:
                del self._terms[key], self._term_ceiling[key]
                self._least_norm.pop(key, None)

    def norm_slack(self) -> float:
        """How far needs' norms can have fallen since they were banded (norm now ≥ slack × norm
        banded), for the current text statistics; bands them again when that is too far."""
        basis = self._basis
        if basis.generation != self.text.generation:
            basis.slack, basis.generation = basis.fall(self.text), self.text.generation
            # fallen too far, or the corpus grew or shrank so far that norms under the basis
            # (idf follows the corpus size) would bound loosely
            if basis.slack < REBASE_BELOW or not REBASE_BELOW < basis.size / max(1, len(self.text)) < 1 / REBASE_BELOW:
                self._rebase()
        return self._basis.slack

    def least_norm(self, key: PostingKey) -> float:
        """The least norm of the needs in a posting, as banded (or lower)."""
        return self._least_norm[key]

    def _rebase(self) -> None:
        """Band every need's norm under the current text statistics."""
        self._basis = basis = _NormBasis(self.text)
        norms = {item_id: basis.norm(counts) for item_id, (_, _, counts) in self._shapes.items()
                 if counts and self._items[item_id].side is Side.NEED}
        for (_, side, _), partition in self._partitions.items():
            if side is Side.NEED:
                partition.norms = {}
                for item_id, slot in partition.slots.items():
                    if item_id in norms:
                        _include(partition.norms, _norm_band(norms[item_id]), 1 << slot)
        self._least_norm = {key: min(norms[i] for i in posting) for key, posting in self._terms.items()
                            if key[1] is Side.NEED}

    def listing_ids(self, kind: Kind, side: Side, codes: Iterable[str]) -> set[str]:
        """The ids of the open items of a kind and side listing any of ``codes`` itself (a
        top-level code matches items listing that code, not its sub-fields)."""
        found: set[str] = set()
        for code in codes:
            partition = self._partitions.get((kind, side, taxonomy.top_level(code)))
            if partition is not None:
                found.update(partition.ids_of(partition.codes.get(code, 0)))
        return found

    def open_ids(self, kind: Kind, side: Side, top_fields: Iterable[str]) -> list[str]:
        """The ids of the open items of a kind and side listing a field in any of ``top_fields``."""
        found: set[str] = set()
        for top in top_fields:
            partition = self._partitions.get((kind, side, top))
            if partition is not None:
                found.update(partition.slots)
        return sorted(found)


class _NormBasis:
    """The text statistics needs' norms are banded under, and ``slack``: how far any norm can have
    fallen since, for the statistics of ``generation`` (norm now ≥ slack × norm under the basis)."""

    def __init__(self, text: TextModel):
        self.df, self.size = text.snapshot()
        self.generation = text.generation
        self.slack = 1.0
        self._idf: dict[str, float] = {}

    def idf(self, term: str) -> float:
        idf = self._idf.get(term)
        if idf is None:
            idf = self._idf[term] = idf_of(self.df.get(term, 0), self.size)
        return idf

    def norm(self, counts: dict[str, int]) -> float:
        """A need's norm under the basis (``TextModel.self_score`` with the basis's idf)."""
        return sum(self.idf(t) * saturation(tf) for t, tf in counts.items())

    def fall(self, text: TextModel) -> float:
        """The least ratio of a term's idf now to its idf under the basis: a norm is a sum of idf
        times saturation, so no norm fell further. Terms the snapshot now has not seen have the
        largest idf it gives, so one ratio covers them all."""
        df_now, size_now = text.snapshot()
        least = idf_of(0, size_now) / idf_of(0, self.size)
        for term in df_now:
            least = min(least, text.idf(term) / self.idf(term))
        return least


def _codes_in(codes: frozenset[str], top: str) -> list[str]:
    return [c for c in codes if taxonomy.top_level(c) == top]


class _Query:
    """One item's query against the items of the opposite side, same kind."""

    def __init__(self, index: CandidateIndex, item: ItemData):
        self.index, self.item, self.kind, self.side = index, item, item.kind, opposite(item.side)
        self.codes = frozenset(item.fields)
        self.tops = frozenset(taxonomy.top_level(c) for c in item.fields)
        text = index.text
        counts = text.terms(item)
        # A candidate's text is the sum of the weights of the terms it shares, each times the
        # candidate's saturation of it. The need is BM25's query: one norm for all offers. An
        # offer as the query meets needs that each normalise by their own terms (and saturate the
        # offer's frequency, not theirs), so there the sum is divided per candidate, and a term's
        # share is bounded by the least norm of the needs with it.
        self.per_candidate_norm = self.side is Side.NEED
        self.slack = index.norm_slack() if self.per_candidate_norm else 1.0
        norm = 1.0 if self.per_candidate_norm else text.item_self_score(item)
        self.weights: dict[str, float] = {}
        self.postings: list[tuple[set[str], float]] = []  # (posting, ceiling of the term's share of text)
        for term in sorted(counts):
            key = (item.kind, self.side, term)
            posting = index._terms.get(key)
            if posting is None:
                continue
            if self.per_candidate_norm:
                self.weights[term] = weight = text.idf(term) * saturation(counts[term])
                self.postings.append((posting, min(1.0, weight / (index.least_norm(key) * self.slack))))
            else:
                self.weights[term] = weight = text.idf(term) / norm
                self.postings.append((posting, weight * index._term_ceiling[key]))

    def partitions(self) -> list[_Partition]:
        """The partitions of the query's own top-level fields: every candidate with a field share."""
        found = (self.index._partitions.get((self.kind, self.side, top)) for top in sorted(self.tops))
        return [p for p in found if p is not None]

    def bounds(self, partition: _Partition, now: datetime) -> tuple[list[int], int, int]:
        """(bit-sliced sums, base, slots): the slots of the candidates no hard rule read from the
        partition's groups excludes, and per slot, sum + base bounds in UNITS the candidate's score
        less the top-level share. Each term's share of text is rounded up per frequency level (or
        band of norm), each practical fit per group of equal TRL, owner party type, update period,
        amount band, region or region preference."""
        sums: list[int] = []
        self._add_text_shares(sums, partition)
        listing = partition.listing(self.codes)
        slots = partition.occupied & ~self._excluded(partition)
        # without a shared sub-field, text relevance below TEXT_FLOOR is no evidence (Rule.EVIDENCE)
        slots &= listing | _at_least(sums, _EVIDENCE_UNITS, slots)
        _add(sums, listing, _CODE_BONUS)
        item, offering = self.item, self.item.side is Side.OFFER
        updated = item.updated_at.timestamp()
        preferences, region, amount = tuple(item.region_preference), item.region, item.amount

        def trl(candidate_trl: int | None) -> float:
            return trl_fit(item.trl, candidate_trl) if offering else trl_fit(candidate_trl, item.trl)

        def party(candidate_party: PartyType) -> float:
            if offering:
                return pairing_fit(item.kind, item.owner_party_type, candidate_party)
            return pairing_fit(item.kind, candidate_party, item.owner_party_type)

        def freshness(period: int) -> float:
            # the older side's update is at the latest the query's, or the end of the candidate's period
            return freshness_after((now.timestamp() - min(updated, (period + 1) * UPDATE_PERIOD_SECONDS)) / 86400)

        def amount_fit(key: tuple[str, int] | None) -> float:
            # ranges in one currency that do not overlap were excluded; two currencies are UNKNOWN
            return UNKNOWN if key is not None and amount is not None and key[0] != amount.currency else 1.0

        def preference_here(candidate_region: str | None) -> float:  # the query's preference, half of region
            return preference_fit(preferences, candidate_region)

        def preference_there(key: tuple[tuple[str, ...], bool]) -> float:  # the candidate's, the other half
            return preference_fit(key[0], region)

        half_region = WEIGHTS["region"] / 2
        base = (_add_fit_shares(sums, partition.trls, WEIGHTS["trl"], trl)
                + _add_fit_shares(sums, partition.parties, WEIGHTS["party"], party)
                + _add_fit_shares(sums, partition.updated, WEIGHTS["freshness"], freshness)
                + _add_fit_shares(sums, partition.amounts, WEIGHTS["amount"], amount_fit)
                + _add_fit_shares(sums, partition.regions, half_region, preference_here)
                + _add_fit_shares(sums, partition.preferences, half_region, preference_there))
        return sums, base, slots

    def _excluded(self, partition: _Partition) -> int:
        """Slots of candidates a hard rule excludes, as far as the partition's groups tell: TRL
        below the need's minimum, no common transfer mode, amounts in one currency that cannot
        overlap, a required region the other side is not in (``scoring.broken_rule``)."""
        item, excluded = self.item, 0
        for trl, slots in partition.trls.items():
            offered, minimum = (item.trl, trl) if item.side is Side.OFFER else (trl, item.trl)
            if minimum is not None and offered is not None and offered < minimum:
                excluded |= slots
        if item.transfer_modes:
            for modes, slots in partition.modes.items():
                if modes and modes.isdisjoint(item.transfer_modes):
                    excluded |= slots
        if (amount := item.amount) is not None:
            least = amount.min or 0.0
            most = amount.max if amount.max is not None else math.inf
            for key, slots in partition.amounts.items():  # a least amount above the query's largest
                if key is not None and key[0] == amount.currency and key[1] and AMOUNT_BANDS[key[1] - 1] > most:
                    excluded |= slots
            for (currency, band), slots in partition.amount_tops.items():  # a largest below the query's least
                if currency == amount.currency and band < len(AMOUNT_BANDS) and AMOUNT_BANDS[band] <= least:
                    excluded |= slots
        required = tuple(item.region_preference), item.region_required
        if item.region_required and item.region_preference:
            for region, slots in partition.regions.items():
                if not preference_allows(*required, region):
                    excluded |= slots
        for (preferences, candidate_requires), slots in partition.preferences.items():
            if candidate_requires and not preference_allows(preferences, True, item.region):
                excluded |= slots
        return excluded

    def _add_text_shares(self, sums: list[int], partition: _Partition) -> None:
        bands = partition.norms
        for term, weight in self.weights.items():
            levels = partition.terms.get(term)
            if levels is None:
                continue
            if self.per_candidate_norm:  # the term's share of each need's text, by the need's band of norm
                by_share: dict[int, int] = {}
                for band, slots in bands.items():
                    if having := levels[0] & slots:
                        share = math.ceil(UNITS * _TEXT_WEIGHT * min(1.0, weight / (_band_floor(band) * self.slack)))
                        _include(by_share, share, having)
                for share, slots in by_share.items():
                    _add(sums, slots, share)
                continue
            reached = 0
            for tf, slots in enumerate(levels, start=1):
                # the last level holds all higher frequencies: saturation stays below K1 + 1
                share = math.ceil(UNITS * _TEXT_WEIGHT * weight * (saturation(tf) if tf < TF_LEVELS else K1 + 1))
                _add(sums, slots, share - reached)
                reached = share

    def index_score(self, item_id: str) -> float:
        codes, tops, counts = self.index._shapes[item_id]
        if not codes.isdisjoint(self.codes):
            field = _FIELD_WEIGHT
        else:
            field = _TOP_SHARE if not tops.isdisjoint(self.tops) else 0.0
        weights = self.weights
        shared = counts.keys() & weights.keys()
        if not shared:
            return field
        if self.per_candidate_norm:
            text = sum(weights[t] for t in shared) / self.index.text.item_self_score(self.index._items[item_id])
        else:
            text = sum(weights[t] * _saturation(counts[t]) for t in shared)
        return field + _TEXT_WEIGHT * min(1.0, text)


class _TopK:
    """The k best (score, id) so far and the content score a newcomer must reach. A newcomer's
    content score must reach the threshold; it ranks by its score with its prior, which adds at
    most ``lift`` (0 without priors)."""

    def __init__(self, k: int, threshold: float, lift: float = 0.0):
        self.k, self.threshold, self.lift = k, threshold, lift
        self.entries: list[tuple[float, str, ItemData]] = []  # sorted by (-score, id)

    @property
    def bar(self) -> float:
        return max(self.threshold, -self.entries[-1][0] - self.lift) if len(self.entries) == self.k else self.threshold

    def hopeless(self, ceiling: float) -> bool:
        """True when a candidate whose score cannot exceed ``ceiling`` cannot enter."""
        return ceiling + _ROUNDING < self.bar

    def offer(self, content: float | None, candidate: ItemData, prior: float = 0.0) -> None:
        if content is None or content < self.threshold:
            return
        entry = (-with_prior(content, prior), candidate.id, candidate)
        if len(self.entries) < self.k or entry[:2] < self.entries[-1][:2]:
            bisect.insort(self.entries, entry, key=lambda e: e[:2])
            del self.entries[self.k:]


def top_partners(index: CandidateIndex, item: ItemData, *, k: int, now: datetime, threshold: float = 0.0,
                 feedback: FeedbackPenalties | None = None, exclude: Collection[str] = (),
                 priors: ConversionPriors | None = None) -> list[tuple[float, ItemData]]:
    """Exactly the ``k`` best partners of ``item`` whose content score reaches ``threshold``
    (score with its prior descending, ties by id) — what scoring every item would give, without
    scoring every item.

    A candidate is scored (``pair_score``) only if its score before feedback and rounding —
    exact index score and practical fit — could reach the k-th best score so far; that is worked
    out only for candidates whose bounds could.

    1. Candidates in the item's own top-level fields (field share > 0): the bounds of all of them
       are summed in their partitions at once; bands of candidates are taken by falling bound, and
       in each band scored best first, until no bound could enter.
    2. Candidates of other fields sharing terms (field share 0): read only if text + practical
       could enter, and only from the postings of terms that a candidate must share to enter.
    """
    search = _Search(index, item, k=k, now=now, threshold=threshold, feedback=feedback, exclude=exclude,
                     priors=priors)
    query = _Query(index, item)
    search.own_fields(query)
    search.other_fields(query)
    return [(-negated, candidate) for negated, _, candidate in search.best.entries]


class _Search:
    def __init__(self, index: CandidateIndex, item: ItemData, *, k: int, now: datetime, threshold: float,
                 feedback: FeedbackPenalties | None, exclude: Collection[str], priors: ConversionPriors | None):
        self.index, self.item, self.now, self.feedback, self.priors = index, item, now, feedback, priors
        self.best = _TopK(k, threshold, priors.most if priors else 0.0)
        self.scored: set[str] = set(exclude)

    def score_best_first(self, query: _Query, candidate_ids: Iterable[str]) -> None:
        """Score the candidates by falling score before feedback and rounding, while one could
        still enter; the index score with a full practical share rules out many cheaply first."""
        ranked: list[tuple[float, str, ItemData]] = []
        for candidate_id in candidate_ids:
            if candidate_id in self.scored:
                continue
            index_score = query.index_score(candidate_id)
            if self.best.hopeless(index_score + WEIGHT_BEYOND_INDEX):
                continue
            candidate = self.index._items[candidate_id]
            ranked.append((index_score + practical_score(*self._pair(candidate), self.now), candidate_id, candidate))
        ranked.sort(reverse=True)
        for ceiling, candidate_id, candidate in ranked:
            if self.best.hopeless(ceiling):
                return
            self.scored.add(candidate_id)
            offer, need = self._pair(candidate)
            self.best.offer(pair_score(offer, need, now=self.now, text=self.index.text, feedback=self.feedback),
                            candidate, self.priors.of(offer, need) if self.priors else 0.0)

    def _pair(self, candidate: ItemData) -> tuple[ItemData, ItemData]:
        """(offer, need)."""
        return (self.item, candidate) if self.item.side is Side.OFFER else (candidate, self.item)

    def own_fields(self, query: _Query) -> None:
        """Step 1: bands of falling bound over the partitions of the item's top-level fields."""
        bounded = [(partition, *query.bounds(partition, self.now)) for partition in query.partitions()]
        bounded = [entry for entry in bounded if entry[3]]
        if not bounded:
            return
        taken = [0] * len(bounded)  # per partition, the slots of the bands done
        value = max(base + _highest(sums, slots) for _, sums, base, slots in bounded)
        while value >= (needed := self._needed_bound()):
            low = max(needed, value - BAND + 1)
            band: set[str] = set()  # an item listing fields in two of them is in two partitions
            for n, (partition, sums, base, slots) in enumerate(bounded):
                reached = _at_least(sums, low - base, slots)
                band.update(partition.ids_of(reached ^ taken[n]))  # bands fall, so reached holds taken
                taken[n] = reached
            self.score_best_first(query, band)
            value = low - 1

    def _needed_bound(self) -> int:
        """The least partition bound (see ``_Query.bounds``) of a candidate that could enter."""
        return math.ceil(UNITS * (self.best.bar - _ROUNDING - _TOP_SHARE))

    def other_fields(self, query: _Query) -> None:
        """Step 2: the most common terms are set aside while even a full share of them could not
        lift a candidate in; only the postings of the other terms are read."""
        common_ceiling = 0.0
        postings = sorted(query.postings, key=lambda p: -len(p[0]))
        for n, (_, ceiling) in enumerate(postings):  # noqa: B007 - n is read after the loop's break
            if not self.best.hopeless(_TEXT_WEIGHT * min(1.0, common_ceiling + ceiling) + WEIGHT_BEYOND_INDEX):
                break
            common_ceiling += ceiling
        else:
            return  # even all terms together could not lift a candidate in
        reached = set().union(*(posting for posting, _ in postings[n:])) - self.scored
        for partition in query.partitions():  # step 1 considered every item sharing a top-level field
            reached = reached.difference(partition.slots)
        self.score_best_first(query, reached)
