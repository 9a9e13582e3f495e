"""The match engine: items, participants and feedback in; match created/updated/retracted out.

Rules:
- A live (open, unexpired) item is indexed, its existing matches are re-scored (retracted when
  a hard filter now fails or the score fell below the threshold, updated only when it is news:
  ``is_news``) and its top-k partners above the threshold become matches when they are not yet.
  A new offer finds needs; a new need finds offers.
- Top-k holds on *both* sides: an item keeps at most ``top_k`` matches. A new pair enters the
  partner's matches only if it ranks above the partner's worst one when the partner has ``top_k``
  already (ranked by score, ties by the other item's id); that worst one is then retracted
  (``OUTRANKED``). An updated item keeps its best ``top_k`` of its old and new pairs. A slot freed
  by a withdrawal is filled by later items, not by searching again.
- An item that is withdrawn, closed, expired (or a draft again) leaves the index and all its
  matches are retracted with the matching reason.
- A decline retracts the match for the declining participant, is remembered as a penalty on
  similar candidates (``feedback.py``) and the decliner's other matches of that item are re-scored.
  A declined pair is never proposed again; when both sides declined, the match is gone.
- A deal-outcome prior (``priors.py``) moves a pair's ranking score by at most ±0.025 once it
  passed every hard rule; the threshold is tested on its content score, so a prior never admits
  or excludes a pair. A changed prior re-scores the current matches of its field and party-type
  pair (``on_prior``: updated when news); it searches no new partners.
- Nothing depends on wall-clock time or hash order: the same sequence of calls (with the same
  ``now`` values, e.g. each event's time) gives the same changes, so replays agree.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from shared.events.listing import ItemData, ItemStatus, ParticipantData
from shared.events.matching import (
    MATCH_CREATED, MATCH_RETRACTED, MATCH_UPDATED, FeedbackDecision, MatchData, MatchFeedbackData, MatchRetractedData,
    RetractReason,
)
from shared.party_types import Kind, Side

from services.matching.domain.compact import compact_item
from services.matching.domain.explanation import UPDATE_EPSILON, is_news, render, retraction
from services.matching.domain.feedback import FeedbackPenalties
from services.matching.domain.index import CandidateIndex, top_partners
from services.matching.domain.match_table import MatchTable
from services.matching.domain.priors import ConversionPriors
from services.matching.domain.scoring import ScoredPair, is_live, score_pair
from services.matching.domain.text import TextModel

__all__ = ["UPDATE_EPSILON", "MatchChange", "MatchEngine"]


@dataclass(frozen=True)
class MatchChange:
    """What the engine decided about one match, as numbers: rendered (``data``) when sent."""

    event_type: str  # MATCH_CREATED, MATCH_UPDATED or MATCH_RETRACTED
    match: ScoredPair  # the match as now held; as last held when retracted
    reason: RetractReason | None = None  # of a retraction
    for_participant: str | None = None  # a retraction for the one participant who declined it

    @property
    def match_id(self) -> str:
        return self.match.match_id

    @property
    def data(self) -> MatchData | MatchRetractedData:
        """The event's data, rendered (``explanation``)."""
        if self.reason is None:
            return render(self.match)
        return retraction(self.match, self.reason, self.for_participant)


def _retract_reason(item: ItemData, now: datetime) -> RetractReason:
    if item.status is ItemStatus.CLOSED:
        return RetractReason.CLOSED
    if item.status is ItemStatus.EXPIRED or (item.status is ItemStatus.OPEN and item.expires_at is not None):
        return RetractReason.EXPIRED
    return RetractReason.OFFER_WITHDRAWN if item.side is Side.OFFER else RetractReason.NEED_WITHDRAWN


def _retracted(scored: ScoredPair, reason: RetractReason, for_participant: str | None = None) -> MatchChange:
    return MatchChange(MATCH_RETRACTED, scored, reason, for_participant)


class MatchEngine:
    def __init__(self, threshold: float = 0.35, top_k: int = 10, analyser: str = "jieba", bridge: bool = True,
                 glossary: bool = True):
        self.threshold = threshold
        self.top_k = top_k
        self.index = CandidateIndex(TextModel(analyser, bridge=bridge, glossary=glossary))
        self.feedback = FeedbackPenalties()
        self.priors = ConversionPriors()
        self.participants: dict[str, ParticipantData] = {}
        self._matches = MatchTable()
        self._by_item: dict[str, set[str]] = {}
        self._by_owner: dict[str, set[str]] = {}  # open item ids per participant
        self._declined_by: dict[str, set[str]] = {}  # match id -> participants who declined it
        self._declined_partners: dict[str, set[str]] = {}  # item id -> partner ids never to propose
        self._best: dict[str, tuple[int, list[str]]] = {}  # item id -> (n, ``best_ids``) until its matches change

    # --- queries -----------------------------------------------------------------------------

    def get_item(self, item_id: str) -> ItemData | None:
        return self.index.get(item_id)

    def open_items(self, kind: Kind, side: Side, top_fields: Iterable[str]) -> list[ItemData]:
        """Open items of a kind and side in any of the top-level fields, by id."""
        return [self.index.item(i) for i in self.index.open_ids(kind, side, top_fields)]

    def open_ids(self, kind: Kind, side: Side, top_fields: Iterable[str]) -> list[str]:
        """The ids of ``open_items``, without reading the items."""
        return self.index.open_ids(kind, side, top_fields)

    def listing_ids(self, kind: Kind, side: Side, codes: Iterable[str]) -> set[str]:
        """The ids of the open items of a kind and side listing any of the field codes."""
        return self.index.listing_ids(kind, side, codes)

    def items_of(self, owner_id: str) -> list[ItemData]:
        return [self.index.item(i) for i in sorted(self._by_owner.get(owner_id, ()))]

    def record(self, match_id_: str) -> ScoredPair | None:
        """A current match as numbers."""
        return self._matches.get(match_id_)

    def records_for(self, item_id: str) -> list[ScoredPair]:
        """The item's current matches as numbers, best first."""
        ordered = sorted(self._by_item.get(item_id, ()), key=lambda m: (-self._matches.score(m), m))
        return [self._matches[m] for m in ordered]

    def match(self, match_id_: str) -> MatchData | None:
        """A current match as read (rendered)."""
        scored = self._matches.get(match_id_)
        return render(scored) if scored is not None else None

    def matches(self) -> list[MatchData]:
        """Every current match, by id, rendered."""
        return [render(self._matches[m]) for m in sorted(self._matches)]

    def matches_for(self, item_id: str) -> list[MatchData]:
        """The item's current matches, best first, rendered."""
        return [render(scored) for scored in self.records_for(item_id)]

    def pairs_for(self, item_id: str) -> list[tuple[str, str, str, float]]:
        """(match id, offer id, need id, score) of the item's current matches, by match id;
        nothing decoded."""
        return [(m, *self._matches.pair(m), self._matches.score(m)) for m in sorted(self._by_item.get(item_id, ()))]

    def match_ids_of(self, item_id: str) -> frozenset[str]:
        """The ids of the item's current matches, unordered; nothing read."""
        return frozenset(self._by_item.get(item_id, ()))

    def best_ids(self, item_id: str, n: int) -> list[str]:
        """The ids of the item's ``n`` best current matches: by score, then the other item's id,
        as top-k ranks them (``_make_room``)."""
        known = self._best.get(item_id)
        if known is not None and known[0] == n:
            return known[1]
        held = self._by_item.get(item_id)
        best = heapq.nsmallest(n, held, key=lambda m: (-self._matches.score(m), self._partner(m, item_id))) \
            if held else []
        self._best[item_id] = (n, best)
        return best

    def _changed(self, scored: ScoredPair) -> None:
        """A match of the two items was added, re-scored or dropped: their rankings are stale."""
        self._best.pop(scored.offer.id, None)
        self._best.pop(scored.need.id, None)

    def declined_by(self, match_id_: str) -> frozenset[str]:
        return frozenset(self._declined_by.get(match_id_, ()))

    def __len__(self) -> int:
        return len(self._matches)

    # --- inputs ------------------------------------------------------------------------------

    def on_participant(self, participant: ParticipantData) -> None:
        known = self.participants.get(participant.id)
        if known is None or participant.version >= known.version:
            self.participants[participant.id] = participant

    def on_item(self, item: ItemData, now: datetime) -> list[MatchChange]:
        item = compact_item(item)  # what the index and the matches hold of it
        known = self.index.get(item.id)
        if known is not None and item.version < known.version:
            return []  # a stale version arriving late changes nothing
        if not is_live(item, now):
            self._forget(item)
            reason = _retract_reason(item, now)
            return [self._drop(scored, reason) for scored in self.records_for(item.id)]
        self._forget(item)  # the owner may have changed
        self.index.upsert(item)
        self._by_owner.setdefault(item.owner_id, set()).add(item.id)
        return self._rescore_existing(item, now) + self._create_best(item, now)

    def on_feedback(self, feedback: MatchFeedbackData, now: datetime) -> list[MatchChange]:
        declined = self._record_decline(feedback)
        if declined is None:
            return []
        data, mine = declined
        return ([_retracted(data, RetractReason.DECLINED, for_participant=feedback.participant_id)]
                + self._rescore_existing(self.index.item(mine), now))

    def on_prior(self, key: str, prior: float, now: datetime) -> list[MatchChange]:
        """A field and party-type pair's deal-outcome prior changed (``key`` as
        ``shared.events.deals.prior_key``): its current matches are re-scored."""
        if not self.priors.set(key, prior):
            return []
        field, pair = key.split("|", 1)
        offerer, seeker = pair.split(">", 1)
        affected: set[str] = set()
        for kind in Kind:
            for side, party in ((Side.OFFER, offerer), (Side.NEED, seeker)):
                for item_id in self.index.open_ids(kind, side, [field]):
                    if self.index.item(item_id).owner_party_type == party:
                        affected.update(self._by_item.get(item_id, ()))
        changes: list[MatchChange] = []
        for match_id_ in sorted(affected):
            old = self._matches[match_id_]
            if old.offer.owner_party_type == offerer and old.need.owner_party_type == seeker:
                changes.extend(self._rescore(old, self.index.item(old.offer.id), now))
        return changes

    # --- internals ---------------------------------------------------------------------------

    def _record_decline(self, feedback: MatchFeedbackData) -> tuple[ScoredPair, str] | None:
        """Remember a new decline of a current match by one of its parties: the match and the
        decliner's item id; None when there is nothing new to remember."""
        data = self._matches.get(feedback.match_id)
        if data is None or feedback.decision is not FeedbackDecision.DECLINE:
            return None
        decliner = feedback.participant_id
        declined = self._declined_by.setdefault(data.match_id, set())
        if decliner not in (data.offer.owner_id, data.need.owner_id) or decliner in declined:
            return None
        declined.add(decliner)
        self._declined_partners.setdefault(data.offer.id, set()).add(data.need.id)
        self._declined_partners.setdefault(data.need.id, set()).add(data.offer.id)
        mine, partner = ((data.offer.id, data.need.id) if data.offer.owner_id == decliner
                         else (data.need.id, data.offer.id))
        self.feedback.record(decliner, self.index.item(partner), feedback.reason)
        if declined >= {data.offer.owner_id, data.need.owner_id}:
            self._drop(data, RetractReason.DECLINED)  # both sides declined: the match is gone
        return data, mine

    def _score(self, item: ItemData, partner: ItemData, now: datetime) -> ScoredPair | None:
        offer, need = (item, partner) if item.side is Side.OFFER else (partner, item)
        return score_pair(offer, need, now=now, text=self.index.text, feedback=self.feedback, priors=self.priors)

    def _rescore_existing(self, item: ItemData, now: datetime) -> list[MatchChange]:
        changes: list[MatchChange] = []
        for old in [self._matches[m] for m in sorted(self._by_item.get(item.id, ()))]:
            changes.extend(self._rescore(old, item, now))
        return changes

    def _rescore(self, old: ScoredPair, item: ItemData, now: datetime) -> list[MatchChange]:
        """A current match of ``item`` scored again: retracted when its content score fell below the
        threshold (or a rule now fails), updated when news, else nothing."""
        partner = self.index.get(old.need.id if item.side is Side.OFFER else old.offer.id)
        scored = self._score(item, partner, now) if partner is not None else None
        if partner is None or scored is None or scored.content < self.threshold:
            return [self._drop(old, RetractReason.BELOW_THRESHOLD)]
        if not is_news(old, scored):
            return []
        self._matches.put(scored)
        self._changed(scored)
        return [MatchChange(MATCH_UPDATED, scored)]

    def _create_best(self, item: ItemData, now: datetime) -> list[MatchChange]:
        """The item's best ``top_k`` of its current matches and its best partners found now; a
        new pair also has to rank within the partner's ``top_k`` (``_make_room``)."""
        changes: list[MatchChange] = []
        best = top_partners(self.index, item, k=self.top_k, now=now, threshold=self.threshold,
                            feedback=self.feedback, exclude=self._declined_partners.get(item.id, ()),
                            priors=self.priors)
        current = {self._partner(m, item.id): m for m in self._by_item.get(item.id, ())}
        ranked = sorted([(-self._matches.score(m), partner_id, None) for partner_id, m in current.items()]
                        + [(-score, partner.id, partner) for score, partner in best if partner.id not in current],
                        key=lambda entry: (entry[0], entry[1]))
        kept = 0
        for negated, partner_id, partner in ranked:
            if partner is None:  # a current match
                if kept < self.top_k:
                    kept += 1
                else:
                    changes.append(self._drop(self._matches[current[partner_id]], RetractReason.OUTRANKED))
                continue
            if kept >= self.top_k or not self._make_room(partner_id, -negated, item.id, changes):
                continue
            scored = self._score(item, partner, now)
            assert scored is not None  # top_partners found its content score at least at the threshold
            self._matches.put(scored)
            self._changed(scored)
            self._by_item.setdefault(scored.offer.id, set()).add(scored.match_id)
            self._by_item.setdefault(scored.need.id, set()).add(scored.match_id)
            changes.append(MatchChange(MATCH_CREATED, scored))
            kept += 1
        return changes

    def _partner(self, match_id_: str, item_id: str) -> str:
        offer_id, need_id = self._matches.pair(match_id_)
        return need_id if offer_id == item_id else offer_id

    def _make_room(self, item_id: str, score: float, newcomer_id: str, changes: list[MatchChange]) -> bool:
        """Whether a pair of ``score`` with ``newcomer_id`` ranks within ``item_id``'s ``top_k``;
        when the item's matches are full, its worst one is retracted to make room."""
        held = self._by_item.get(item_id, ())
        if len(held) < self.top_k:
            return True
        worst = max(held, key=lambda m: (-self._matches.score(m), self._partner(m, item_id)))
        if (-score, newcomer_id) >= (-self._matches.score(worst), self._partner(worst, item_id)):
            return False
        changes.append(self._drop(self._matches[worst], RetractReason.OUTRANKED))
        return True

    def _drop(self, data: ScoredPair, reason: RetractReason) -> MatchChange:
        self._matches.discard(data.match_id)
        self._changed(data)
        for item_id in (data.offer.id, data.need.id):
            linked = self._by_item.get(item_id)
            if linked is not None:
                linked.discard(data.match_id)
                if not linked:
                    del self._by_item[item_id]
        return _retracted(data, reason)

    def _forget(self, item: ItemData) -> None:
        known = self.index.get(item.id)
        self.index.remove(item.id)
        self._best.pop(item.id, None)
        if known is not None:
            owned = self._by_owner.get(known.owner_id)
            if owned is not None:
                owned.discard(item.id)
                if not owned:
                    del self._by_owner[known.owner_id]
