"""What every benchmark shares: the machine description, medians, and writing its section."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from hardtech.infra import ferretdb, kafka
from shared.settings import KAFKA_ADMIN_PRINCIPAL, CommonSettings

RESULTS = Path(__file__).resolve().parent / "results"

# Benchmarks run the services against the local development stack (`make bench` starts it), with
# its public development secrets, as `hardtech up` does.
os.environ.setdefault("HARDTECH_ENVIRONMENT", "local")
# The local broker requires SASL; benchmarks (and the services they start, in their own namespaces)
# are the operators' principal there, as the test harness is.
if not os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
    os.environ.setdefault("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
os.environ.setdefault("KAFKA_SASL_USERNAME", KAFKA_ADMIN_PRINCIPAL)


def use_local_stack() -> None:
    """The local stack's broker and store on the ports the harness is configured with
    (HARDTECH_KAFKA_PORT, HARDTECH_FERRETDB_PORT, read by hardtech.infra as `hardtech up` and the
    test harness read them), unless the environment names its own: the settings' defaults are the
    standard ports, which another stack may be using. The services a benchmark starts inherit them."""
    if not os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        os.environ["KAFKA_BOOTSTRAP_SERVERS"] = kafka.bootstrap()
    if not os.environ.get("MONGODB_URI"):
        os.environ["MONGODB_URI"] = ferretdb.uri()


# Only in a benchmark's own process (``python -m bench.…``): tests import some benchmark modules,
# and endpoints set in their environment would tell the test harness that a broker and a store
# are given, so it would not start its own.
_main_module = getattr(sys.modules.get("__main__"), "__spec__", None)
if _main_module is not None and _main_module.name.startswith("bench."):
    use_local_stack()


def kafka_security(bootstrap: str) -> dict[str, Any]:
    """The security options of a benchmark's own Kafka client (the environment's principal)."""
    return CommonSettings(kafka_bootstrap_servers=bootstrap).kafka_client_options()


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


def start_in_tree(script: str, tree: Path, *args: object) -> subprocess.Popen[str]:
    """``script --child args`` with another tree's code (``PYTHONPATH`` = the tree, e.g. a worktree
    of main), its output piped: side-by-side benchmarks run one such child per tree at once."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.Popen([sys.executable, str(Path(script).resolve()), "--child", *map(str, args)],
                            cwd=tree, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def trees(root: Path, against: Path | None, quick: bool) -> list[tuple[str, Path]]:
    """The trees a side-by-side benchmark runs: this one, and ``--against`` unless ``--quick``."""
    return [("this branch", root)] + ([("main (--against)", against)] if against and not quick else [])


def child_result(child: subprocess.Popen[str]) -> dict[str, Any]:
    """The JSON a ``start_in_tree`` child printed last."""
    out, err = child.communicate()
    if child.returncode != 0:
        raise RuntimeError(f"a child failed:\n{err[-3000:]}")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


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


async def wait_ready(client: httpx.AsyncClient, what: str, timeout: float = 60) -> None:
    """Poll a service's /readyz until it answers 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if (await client.get("/readyz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.3)
    raise RuntimeError(f"{what} did not become ready")
