"""How a page used the services: per service, how many requests and how many round trips (waves
of requests the page waited for one after another), as a ``Server-Timing`` header that browsers'
developer tools show and the browser tests and the page benchmark read."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Call:
    service: str
    started: float  # seconds on a monotonic clock
    ended: float


@dataclass(frozen=True)
class Usage:
    service: str
    requests: int
    round_trips: int
    milliseconds: float  # time spent waiting for the service: the round trips' spans added up


def usage(calls: list[Call]) -> list[Usage]:
    """Per service, in the order first called: calls that overlap in time are one round trip; a
    call that starts after every call of the round trip before it has ended starts the next."""
    found: dict[str, list[Call]] = {}
    for call in sorted(calls, key=lambda c: c.started):
        found.setdefault(call.service, []).append(call)
    summary = []
    for service, mine in found.items():
        trips, waited = 0, 0.0
        start = end = None
        for call in mine:
            if end is None or call.started > end:
                if start is not None and end is not None:
                    waited += end - start
                trips, start, end = trips + 1, call.started, call.ended
            else:
                end = max(end, call.ended)
        if start is not None and end is not None:
            waited += end - start
        summary.append(Usage(service, len(mine), trips, round(waited * 1000, 1)))
    return summary


def waited(calls: list[Call]) -> float:
    """Seconds in which at least one call was under way (the calls' spans, overlaps counted once)."""
    total, end = 0.0, None
    for call in sorted(calls, key=lambda c: c.started):
        if end is None or call.started > end:
            total += call.ended - call.started
            end = call.ended
        elif call.ended > end:
            total += call.ended - end
            end = call.ended
    return total


def server_timing(calls: list[Call], answered_after: float) -> str:
    """``listing;dur=12.3;desc="requests 2, round trips 1", …, upstream;dur=14.0, app;dur=3.1``: per
    service, then the time waiting for any service and the app's own time (``answered_after``
    seconds from the request to its answer, less the waiting)."""
    upstream = waited(calls)
    own = max(0.0, answered_after - upstream)
    services = [f'{u.service};dur={u.milliseconds};desc="requests {u.requests}, round trips {u.round_trips}"'
                for u in usage(calls)]
    return ", ".join([*services, f"upstream;dur={upstream * 1000:.1f}", f"app;dur={own * 1000:.1f}"])


DESCRIPTION = re.compile(r"requests (\d+), round trips (\d+)")


def round_trips(entries: list[tuple[str, str]]) -> dict[str, int]:
    """The round trips per service from Server-Timing entries as (name, description); the entries
    without a description (the totals) are left out."""
    trips = {}
    for name, description in entries:
        if description:
            found = DESCRIPTION.fullmatch(description)
            if found is None:
                raise ValueError(f"not a round-trip description: {description!r}")
            trips[name] = int(found[2])
    return trips
