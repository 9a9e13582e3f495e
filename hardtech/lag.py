"""``hardtech lag``: consumer lag as ``kafka-consumer-groups --describe`` prints it, plus lag in
seconds and the Burrow-style status, read from the monitor service's JSON API."""

from __future__ import annotations

import os
import time
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console

from hardtech.errors import SetupError
from hardtech.stack import operator_token

COLUMNS = ("GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST",
           "CLIENT-ID", "LAG-SECONDS", "STATUS")


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


def render(groups: list[dict[str, Any]], stale: str | None) -> str:
    """Plain aligned columns, like Kafka's tool, so the output greps and pipes well."""
    rows: list[tuple[str, ...]] = [COLUMNS]
    for g in groups:
        if not g["partitions"]:
            rows.append((g["group"], *["-"] * 9, g["status"]))
        for p in g["partitions"]:
            seconds = p["lag_seconds"]
            shown = "-" if seconds is None else f"{'>=' if p['lag_seconds_bound'] == 'at_least' else ''}{seconds:.1f}"
            rows.append((g["group"], p["topic"], str(p["partition"]), _dash(p["committed_offset"]),
                         str(p["log_end_offset"]), _dash(p["lag"]), _dash(p["consumer_id"]), _dash(p["host"]),
                         _dash(p["client_id"]), shown, p["status"]))
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = [" ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    if stale:
        lines.insert(0, f"STALE (last known values): {stale}")
    return "\n".join(lines)


def lag(
    group: Annotated[str | None, typer.Option("--group", "-g", help="Only this consumer group")] = None,
    watch: Annotated[bool, typer.Option("--watch", "-w", help="Refresh every few seconds until Ctrl-C")] = False,
    url: Annotated[str, typer.Option(help="The monitor service")] = os.environ.get("MONITOR_URL",
                                                                                 "http://127.0.0.1:8005"),
) -> None:
    """Consumer lag per partition: kafka-consumer-groups' columns plus LAG-SECONDS and STATUS."""
    token = operator_token()
    console = Console()
    while True:
        groups, stale = _fetch(url, token, group)
        if watch:
            console.clear()
        print(render(groups, stale), flush=True)
        if not watch:
            return
        time.sleep(5)
