"""The conversion funnel: matches made → accepted (a deal opened) → met → contracts signed, counted
per dimension key, with the seconds each step took, the turnover of signed contracts and the deals
closed without one, by reason.

Every count is kept in one counter document per key (``all``, ``session:<id>``, ``field:<code>``,
``region:<code>``, ``strategy:<code>``, ``pair:<offer party>><need party>``), so reading a funnel is
one lookup by ``_id``. A match's keys are fixed when it is first seen, so each step counts under the
same keys; a session's key joins when an agenda schedules the match there."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from shared import regions, taxonomy

ALL = "all"
OUTCOME = "outcome"  # keys of a first-level field and a party-type pair: the outcome signal's (domain/outcomes.py)
CENT = Decimal("0.01")


class Step(StrEnum):
    MADE = "made"  # 匹配
    ACCEPTED = "accepted"  # 接受（开启洽谈）
    MET = "met"  # 会面
    SIGNED = "signed"  # 签约


class Dimension(StrEnum):
    SESSION = "session"
    FIELD = "field"
    REGION = "region"
    STRATEGY = "strategy"
    PAIR = "pair"


def key(dimension: Dimension, value: str) -> str:
    return f"{dimension.value}:{value}"


def dimensions_of(keys: list[str]) -> list[tuple[str, str]]:
    """(dimension, value) of the keys a funnel is read for (``all`` and outcome keys aside)."""
    dimensions = {d.value for d in Dimension}
    return [(d, v) for d, _, v in (k.partition(":") for k in keys) if d in dimensions]


def pair(offer_party_type: str, need_party_type: str) -> str:
    return f"{offer_party_type}>{need_party_type}"


def outcome_key(field: str, party_pair: str) -> str:
    return f"{OUTCOME}:{field}|{party_pair}"


def match_keys(offer_party_type: str, need_party_type: str, fields: list[str], item_regions: list[str]) -> list[str]:
    """The keys a match counts under: all, its party-type pair, the first-level fields and the regions
    (with their provinces and regional strategies) of its two items, and each first-level field
    with the party-type pair."""
    party_pair = pair(offer_party_type, need_party_type)
    keys = {ALL, key(Dimension.PAIR, party_pair)}
    keys.update(key(Dimension.FIELD, taxonomy.top_level(code)) for code in fields)
    keys.update(outcome_key(taxonomy.top_level(code), party_pair) for code in fields)
    for region in item_regions:
        keys.add(key(Dimension.REGION, region))
        if regions.is_known(region):
            keys.add(key(Dimension.REGION, regions.province_of(region)))
            keys.update(key(Dimension.STRATEGY, s.value) for s in regions.strategies_of(region))
    return sorted(keys)


@dataclass(frozen=True)
class Increment:
    """What one step of one match (or its deal's closing, with ``step`` None) adds to each of its
    counter documents."""

    step: Step | None
    seconds: float | None = None  # how long the step took since the previous one, when known
    amount_cents: int = 0
    currency: str | None = None
    closed_reason: str | None = None

    @property
    def label(self) -> str:
        return self.step.value if self.step is not None else "closed"

    def as_inc(self) -> dict[str, int | float]:
        inc: dict[str, int | float] = {self.step.value: 1} if self.step is not None else {}
        if self.closed_reason is not None:
            inc[f"closed.{self.closed_reason}"] = 1
        if self.seconds is not None and self.step is not None:
            inc[f"seconds.{self.step.value}"] = max(self.seconds, 0.0)
            inc[f"timed.{self.step.value}"] = 1
        if self.currency is not None:
            inc[f"turnover_cents.{self.currency}"] = self.amount_cents
        return inc


def seconds_between(earlier: datetime | None, later: datetime | None) -> float | None:
    return None if earlier is None or later is None else (later - earlier).total_seconds()


@dataclass(frozen=True)
class FunnelCounts:
    """A counter document read back; absent counts are zero."""

    key: str
    counts: dict[Step, int]
    seconds: dict[Step, float] = field(default_factory=dict)
    timed: dict[Step, int] = field(default_factory=dict)
    turnover_cents: dict[str, int] = field(default_factory=dict)
    closed: dict[str, int] = field(default_factory=dict)  # deals closed without a contract, by reason

    @classmethod
    def of(cls, key: str, document: dict | None) -> FunnelCounts:
        document = document or {}
        return cls(key=key, counts={s: int(document.get(s.value, 0)) for s in Step},
                   seconds={Step(k): float(v) for k, v in document.get("seconds", {}).items()},
                   timed={Step(k): int(v) for k, v in document.get("timed", {}).items()},
                   turnover_cents={c: int(v) for c, v in document.get("turnover_cents", {}).items()},
                   closed={r: int(v) for r, v in sorted(document.get("closed", {}).items())})

    def mean_days(self, step: Step) -> float | None:
        """Mean days the step took after the previous one, over the matches with both times known."""
        timed = self.timed.get(step, 0)
        return round(self.seconds.get(step, 0.0) / timed / 86400, 3) if timed else None

    def conversion(self, step: Step) -> float | None:
        """The share of the previous step's count that reached ``step``."""
        steps = list(Step)
        before = self.counts[steps[steps.index(step) - 1]]
        return round(self.counts[step] / before, 4) if before else None

    def turnover(self) -> dict[str, Decimal]:
        return {currency: (Decimal(cents) / 100).quantize(CENT)
                for currency, cents in sorted(self.turnover_cents.items())}
