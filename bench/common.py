"""What every benchmark shares: the machine description, medians, and writing its section."""

from __future__ import annotations

import os
import platform
import socket
import statistics
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"

# Benchmarks run the services against the local development stack (`make bench` starts it), with
# its public development secrets, as `hardtech up` does.
os.environ.setdefault("HARDTECH_ENVIRONMENT", "local")


def machine() -> str:
    memory = ""
    try:
        with open("/proc/meminfo") as info:
            kb = int(info.readline().split()[1])
            memory = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    cpu = platform.processor() or platform.machine()
    return f"{platform.system()} {platform.machine()} ({cpu}), {os.cpu_count()} CPUs{memory}, Python {platform.python_version()}"


def free_port() -> int:
    """A TCP port nobody listens on now, for a service the benchmark starts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def median(values: list[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def write_section(name: str, title: str, body: str) -> Path:
    """Write bench/results/<name>.md, stamped with the machine and the date of this run."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.md"
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    path.write_text(f"## {title}\n\nMeasured {stamp} on {machine()}.\n\n{body.strip()}\n")
    return path
