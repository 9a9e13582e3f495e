"""The engine's current matches, kept as numbers.

Each match is its ``ScoredPair``: ids, score, feature values, decline factor, prior and shared
terms, with references to the two item versions it was scored on (shared with the index). Its
score parts and explanation are rendered when it is sent or read (``explanation.render``), so no
text is held per match: earlier, each match was kept as its JSON (about 1.4 KB, 42% of it
explanation lines), and before that as a ~11 KB ``MatchData`` model.
"""

from __future__ import annotations

from collections.abc import Iterator

from services.matching.domain.scoring import ScoredPair


class MatchTable:
    def __init__(self) -> None:
        self._rows: dict[str, ScoredPair] = {}

    def put(self, scored: ScoredPair) -> None:
        self._rows[scored.match_id] = scored

    def get(self, match_id: str) -> ScoredPair | None:
        return self._rows.get(match_id)

    def __getitem__(self, match_id: str) -> ScoredPair:
        return self._rows[match_id]

    def score(self, match_id: str) -> float:
        return self._rows[match_id].score

    def pair(self, match_id: str) -> tuple[str, str]:
        """(offer item id, need item id)."""
        scored = self._rows[match_id]
        return scored.offer.id, scored.need.id

    def discard(self, match_id: str) -> None:
        self._rows.pop(match_id, None)

    def __contains__(self, match_id: object) -> bool:
        return match_id in self._rows

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)
