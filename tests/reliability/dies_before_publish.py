"""``python -m tests.reliability.dies_before_publish <service> <n>`` runs a service that kills
itself (SIGKILL, as a crash) right after its ``n``-th write that staged events in an outbox, before
its relay publishes them: the fault-injection point between a store write and its publish, which
exists only in the tests. Every write hands its staged events to ``OutboxRelay.notify`` with no
await in between, so the relay cannot have sent them yet."""

from __future__ import annotations

import os
import runpy
import signal
import sys
from typing import Any

from shared.outbox import OutboxRelay


def main() -> None:
    service, writes = sys.argv[1], int(sys.argv[2])
    notify = OutboxRelay.notify
    staged = 0

    def notify_or_die(relay: OutboxRelay, collection: Any = None, document_id: Any = None, *entries: Any) -> None:
        nonlocal staged
        if entries:
            staged += 1
            if staged >= writes:
                os.kill(os.getpid(), signal.SIGKILL)
        notify(relay, collection, document_id, *entries)

    OutboxRelay.notify = notify_or_die  # type: ignore[method-assign]
    sys.argv = [f"services.{service}"]
    runpy.run_module(f"services.{service}", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
