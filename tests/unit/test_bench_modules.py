"""Every benchmark module imports: they run only by hand (`make bench`), so a name they import
from a service could otherwise go missing unnoticed."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.mark.parametrize("module", sorted(p.stem for p in BENCH.glob("*.py") if p.stem != "__init__"))
def test_the_benchmark_module_imports(module: str):
    importlib.import_module(f"bench.{module}")
