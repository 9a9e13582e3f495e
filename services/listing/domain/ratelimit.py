"""In-process sliding-window rate limiters (token requests and sign-ups) and the client address
they count by.

It is per process: with several replicas each allows the limit, which still bounds guessing of
API keys (256-bit random) to a rate that cannot matter. The clock is injected for tests.
"""

from __future__ import annotations

import ipaddress
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


def client_address(peer: str | None, forwarded_for: str | None,
                   trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> str:
    """The address a request came from: its peer, unless the peer is a trusted proxy, in which case
    the right-most address of ``X-Forwarded-For`` that is not itself a trusted proxy (whatever a
    client writes to the left of that is not believed)."""
    if peer is None:
        return "unknown"
    if forwarded_for is None or not _trusted(peer, trusted_proxies):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, trusted_proxies):
            return hop
    return hops[0] if hops else peer


def _trusted(address: str, proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)
