"""Every benchmark module imports: they run only by hand (`make bench`), so a name they import
from a service could otherwise go missing unnoticed. And the benchmarks find the local stack on
the ports the harness is configured with."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"


@pytest.fixture
def environment_kept() -> Iterator[None]:
    """``bench.common`` fills in the environment when imported (as a benchmark's process wants):
    not for the tests that run after this one in the same process."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.mark.parametrize("module", sorted(p.stem for p in BENCH.glob("*.py") if p.stem != "__init__"))
def test_the_benchmark_module_imports(module: str, environment_kept: None):
    importlib.import_module(f"bench.{module}")


def _bench_environment(**given: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("KAFKA_BOOTSTRAP_SERVERS", "MONGODB_URI") and not k.startswith("HARDTECH_")}
    script = ("import os, bench.common; bench.common.use_local_stack(); "
              "from services.matching.settings import Settings; s = Settings(); "
              "print(os.environ['KAFKA_BOOTSTRAP_SERVERS'], os.environ['MONGODB_URI'], "
              "s.kafka_bootstrap_servers, s.mongodb_uri)")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env={**env, **given}, capture_output=True,
                          text=True, check=True)
    return dict(zip(("env_kafka", "env_mongo", "kafka", "mongo"), done.stdout.split(), strict=True))


def test_a_benchmark_uses_the_harness_ports_of_the_broker_and_the_store():
    found = _bench_environment(HARDTECH_KAFKA_PORT="19192", HARDTECH_FERRETDB_PORT="27217")
    assert found == {"env_kafka": "127.0.0.1:19192", "env_mongo": "mongodb://127.0.0.1:27217",
                     "kafka": "127.0.0.1:19192", "mongo": "mongodb://127.0.0.1:27217"}


def test_a_benchmark_uses_the_standard_ports_without_them_and_endpoints_given_over_the_ports():
    assert _bench_environment() == {"env_kafka": "127.0.0.1:9092", "env_mongo": "mongodb://127.0.0.1:27017",
                                    "kafka": "127.0.0.1:9092", "mongo": "mongodb://127.0.0.1:27017"}
    given = _bench_environment(HARDTECH_KAFKA_PORT="19192", KAFKA_BOOTSTRAP_SERVERS="10.0.0.1:9092",
                               MONGODB_URI="mongodb://10.0.0.2:27017")
    assert given == {"env_kafka": "10.0.0.1:9092", "env_mongo": "mongodb://10.0.0.2:27017",
                     "kafka": "10.0.0.1:9092", "mongo": "mongodb://10.0.0.2:27017"}


def test_a_process_that_only_imports_a_benchmark_module_keeps_its_endpoints_unset():
    """Tests import benchmark modules (the demo's events); endpoints set then would tell the test
    harness that a broker and a store are given, and it would start none."""
    env = {k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP_SERVERS", "MONGODB_URI")}
    script = "import os, bench.matching_demo; print(os.environ.get('KAFKA_BOOTSTRAP_SERVERS'), os.environ.get('MONGODB_URI'))"
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["None", "None"]
