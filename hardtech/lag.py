"""``hardtech lag``: consumer lag per group (status, lag in messages and seconds), and per
partition for one group as ``kafka-consumer-groups --describe`` prints it, read from the monitor
service's JSON API; every table fits a terminal of 100 columns."""

from __future__ import annotations

import os
import time
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console

from hardtech.errors import SetupError
from hardtech.stack import operator_token

WIDTH = 100  # the table fits a terminal of this many columns
SUMMARY = ("GROUP", "STATUS", "LAG", "LAG-S", "PARTS", "MEMBERS", "TOPICS")
PARTITIONS = ("TOPIC", "PART", "CURRENT", "LOG-END", "LAG", "LAG-S", "STATUS", "CONSUMER")
SEVERITY = {"ERR": 0, "WARN": 1, "OK": 2}


def _fetch(url: str, token: str, group: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """The groups (all pages) and, when the monitor could not reach Kafka, why."""
    headers = {"Authorization": f"Bearer {token}"}
    groups: list[dict[str, Any]] = []
    cursor: str | None = None
    try:
        with httpx.Client(base_url=url, headers=headers, timeout=10) as client:
            while True:
                if group:
                    response = client.get(f"/lag/{group}")
                else:
                    response = client.get("/lag", params={"limit": 100, **({"cursor": cursor} if cursor else {})})
                if response.status_code not in (200, 503):
                    raise SetupError(f"monitor answered {response.status_code}: {response.json().get('detail')}")
                body = response.json()
                stale = body.get("reason") if response.status_code == 503 else None
                if group and response.status_code == 200:
                    return [body], None
                groups += body["items"]
                cursor = body.get("next_cursor")
                if group or not cursor:
                    return groups, stale
    except httpx.HTTPError as exc:
        raise SetupError(f"monitor not reachable at {url}: {exc} (start it with `hardtech up`)") from None


def _dash(value: Any) -> str:
    return "-" if value is None or value == "" else str(value)


def _seconds(value: float | None, bound: str | None = None) -> str:
    return "-" if value is None else f"{'>=' if bound == 'at_least' else ''}{value:.1f}"


def _short(text: str, width: int) -> str:
    """At most ``width`` characters, the middle elided: group and topic names differ at both ends."""
    if len(text) <= width:
        return text
    head = (width - 1) // 2
    return text[:head] + "…" + text[len(text) - (width - 1 - head):]


def _table(rows: list[tuple[str, ...]], *, width: int) -> list[str]:
    """Aligned columns within ``width``: the first (a name) at most 40 wide, the last shortened."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    widths[0] = min(widths[0], 40)
    widths[-1] = max(8, min(widths[-1], width - (sum(widths[:-1]) + len(widths) - 1)))
    return [" ".join(_short(cell, w).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()[:width]
            for row in rows]


def _order(group: dict[str, Any]) -> tuple[int, int, str]:
    """Groups in error first, then warnings, then the most behind, then by name."""
    return SEVERITY.get(group["status"], 0), -group["total_lag"], group["group"]


def render(groups: list[dict[str, Any]], stale: str | None, *, width: int = WIDTH) -> str:
    """One line per group, the ones an operator must look at first; the topics listed are those
    with lag (all of them when none has)."""
    rows: list[tuple[str, ...]] = [SUMMARY]
    for g in sorted(groups, key=_order):
        behind = sorted({p["topic"] for p in g["partitions"] if p["lag"]})
        topics = behind or sorted({p["topic"] for p in g["partitions"]})
        rows.append((g["group"], g["status"], str(g["total_lag"]), _seconds(g["max_lag_seconds"]),
                     str(len(g["partitions"])), str(len(g["members"])), ",".join(topics) or "-"))
    lines = _table(rows, width=width)
    if stale:
        lines.insert(0, f"STALE (last known values): {stale}")
    return "\n".join(lines)


def render_partitions(group: dict[str, Any], stale: str | None, *, width: int = WIDTH) -> str:
    """One group's partitions, as ``kafka-consumer-groups --describe`` lists them, plus lag in
    seconds and the status; lagging partitions first."""
    rows: list[tuple[str, ...]] = [PARTITIONS]
    for p in sorted(group["partitions"], key=lambda p: (-(p["lag"] or 0), p["topic"], p["partition"])):
        rows.append((p["topic"], str(p["partition"]), _dash(p["committed_offset"]), str(p["log_end_offset"]),
                     _dash(p["lag"]), _seconds(p["lag_seconds"], p["lag_seconds_bound"]), p["status"],
                     _short(_dash(p["client_id"]), 20)))
    lines = [f"{group['group']}: {group['status']}, lag {group['total_lag']}, {len(group['members'])} members",
             *_table(rows, width=width)]
    if stale:
        lines.insert(0, f"STALE (last known values): {stale}")
    return "\n".join(lines)


def lag(
    group: Annotated[str | None, typer.Option("--group", "-g", help="Only this consumer group")] = None,
    watch: Annotated[bool, typer.Option("--watch", "-w", help="Refresh every few seconds until Ctrl-C")] = False,
    url: Annotated[str, typer.Option(help="The monitor service")] = os.environ.get("MONITOR_URL",
                                                                                 "http://127.0.0.1:8005"),
) -> None:
    """Consumer lag: one line per group, those in error or behind first; with --group, its partitions."""
    token = operator_token()
    console = Console()
    while True:
        groups, stale = _fetch(url, token, group)
        if watch:
            console.clear()
        print(render_partitions(groups[0], stale) if group and groups else render(groups, stale), flush=True)
        if not watch:
            return
        time.sleep(5)
