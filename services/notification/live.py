"""Wakes the live streams of a recipient when their inbox grows (in this process; streams also
poll, so entries written by another process arrive too)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager


class Broadcaster:
    def __init__(self) -> None:
        self._listeners: dict[str, set[asyncio.Event]] = defaultdict(set)

    def notify(self, recipient: str) -> None:
        for wake in self._listeners.get(recipient, ()):
            wake.set()

    @contextmanager
    def listen(self, recipient: str) -> Iterator[asyncio.Event]:
        wake = asyncio.Event()
        self._listeners[recipient].add(wake)
        try:
            yield wake
        finally:
            self._listeners[recipient].discard(wake)
            if not self._listeners[recipient]:
                del self._listeners[recipient]
