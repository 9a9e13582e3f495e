"""Run every benchmark and rewrite bench/results.md from their sections."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench.common import RESULTS, machine

HERE = Path(__file__).resolve().parent
SKIP = {"__init__", "__main__", "common"}


def assemble() -> None:
    """Rewrite bench/results.md from the sections the benchmarks wrote."""
    sections = sorted(RESULTS.glob("*.md"))
    header = (f"# Benchmark results\n\nAssembled {datetime.now(UTC):%Y-%m-%d %H:%M} UTC from bench/results/ (`make bench` reruns every benchmark) on "
              f"{machine()}. Each section says when it was measured and what it was compared with in the same "
              f"run. The machine is shared and noisy: medians and ratios are what to read.\n")
    (HERE / "results.md").write_text("\n".join([header, *(s.read_text() for s in sections)]))
    print(f"wrote bench/results.md ({len(sections)} sections)")


def main() -> int:
    modules = sorted(p.stem for p in HERE.glob("*.py") if p.stem not in SKIP)
    quick = ["--quick"] if os.environ.get("BENCH_QUICK") else []
    failed = []
    for index, module in enumerate(modules, start=1):
        print(f"[{index}/{len(modules)}] bench.{module} {' '.join(quick)}", flush=True)
        if subprocess.run([sys.executable, "-m", f"bench.{module}", *quick]).returncode != 0:
            failed.append(module)
    assemble()
    if failed:
        print("failed:", ", ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
