"""The engine's current matches, kept compact.

A ``MatchData`` model takes about 11 KB of memory (a dozen nested pydantic objects, each with
its own dicts); its JSON about 1.5 KB. With ~8 matches per open item, that is the worker's memory
at 100,000 items: gigabytes either way, but a sixth as many. Each match is kept as its JSON with
its score and its two item ids, so ordering and finding partners need no decoding, and is
decoded when read.
"""

from __future__ import annotations

from collections.abc import Iterator

from shared.events.matching import MatchData


class MatchTable:
    def __init__(self) -> None:
        self._rows: dict[str, tuple[float, str, str, bytes]] = {}  # score, offer id, need id, JSON

    def put(self, data: MatchData) -> None:
        self._rows[data.match_id] = (data.score, data.offer.item_id, data.need.item_id,
                                     data.model_dump_json().encode())

    def get(self, match_id: str) -> MatchData | None:
        return self[match_id] if match_id in self._rows else None

    def __getitem__(self, match_id: str) -> MatchData:
        return MatchData.model_validate_json(self._rows[match_id][3])

    def score(self, match_id: str) -> float:
        return self._rows[match_id][0]

    def pair(self, match_id: str) -> tuple[str, str]:
        """(offer item id, need item id)."""
        row = self._rows[match_id]
        return row[1], row[2]

    def discard(self, match_id: str) -> None:
        self._rows.pop(match_id, None)

    def __contains__(self, match_id: object) -> bool:
        return match_id in self._rows

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)
