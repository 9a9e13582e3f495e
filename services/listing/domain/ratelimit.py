"""An in-process sliding-window rate limiter for the token endpoint.

It is per process: with several replicas each allows the limit, which still bounds guessing of
API keys (256-bit random) to a rate that cannot matter. The clock is injected for tests.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable


class SlidingWindowLimiter:
    def __init__(self, limit: int, window_seconds: float, *, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 100_000):
        self._limit = limit
        self._window = window_seconds
        self._clock = clock
        self._max_keys = max_keys
        self._hits: dict[str, deque[float]] = {}

    def acquire(self, key: str) -> float:
        """Count one attempt under ``key``: 0 when allowed, else the seconds until one is."""
        current = self._clock()
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= current - self._window:
            hits.popleft()
        if len(hits) >= self._limit:
            return max(hits[0] + self._window - current, 0.001)
        hits.append(current)
        if len(self._hits) > self._max_keys:
            self._forget_idle(current)
        return 0.0

    def _forget_idle(self, current: float) -> None:
        for key in [k for k, hits in self._hits.items() if not hits or hits[-1] <= current - self._window]:
            del self._hits[key]


def retry_after_header(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
