"""The matching engine's resident memory per open item and its events/s, in-process, this code
against another tree (e.g. main in a ``git worktree``) in the same run.

Each tree runs in a child process of its own (``PYTHONPATH`` = the tree): it builds the service's
``Processor`` over state tables in RocksDB, opened through faust's ``RocksDBOptions`` with the
options the tree's worker gives faust (``shared.faust_app.ROCKSDB_OPTIONS``; faust's defaults
where a tree has none), as the worker's tables are; it handles ``--items`` item events of the
synthetic corpus (``bench.matching_candidates.Corpus``, topical) one by one, each output encoded
once as the worker sends it, in batches of 200 with consortia worked out every 2,000 events (as
the worker works off a backlog), and reads its resident memory (/proc, ``VmRSS``) before the first
and after the last. Then it times ``--burst`` further item events (events/s). The children run at
once, so that they are timed under the same load; a third child of this tree traces the Python
allocations (tracemalloc) over ``--trace`` items and names the top sites.

No broker: ``bench.matching_service --memory-only`` measures the worker process on the broker
(at ~40 items/s while loading, 100,000 items take 40 minutes)."""

from __future__ import annotations

import argparse
import gc
import json
import shutil
import tempfile
import time
import tracemalloc
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TABLES = ("items", "participants", "feedback", "sessions", "ledger", "priors")
WHERE_THE_TIME_GOES = (
    "Where the time goes (cProfile of the `Processor` in-process, consortia worked out after every event, "
    "2026-12-07, machine loaded): main over 5,000 open items (500 timed): consortia 51% (`settle`, `propose`, "
    "`best_supports`), reading matches back from their JSON 11% (`MatchTable.__getitem__`, "
    "`model_validate_json`, for consortia and `among_best`), candidate search 7%, scoring and explaining "
    "winners 6%. This branch over 2,000 open items (100 timed): consortia 54%, engine 17% (search 9%, scoring "
    "winners and their shared terms 6%), rendering at emission 3% (`explanation.render`), ledger emission 2%; "
    "no match is decoded, and pydantic models are built only for the outputs sent (2.7%).")
BATCH = 200  # events whose outputs are sent together (the worker's BATCH_SIZE during a backlog)
SETTLE_EVERY = 2_000  # events between consortia worked out (the worker: every 20 s during a backlog)


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


class _Stored(MutableMapping[str, Any]):
    """A state table in RocksDB, keys and values as the worker's ``JsonTable`` writes them."""

    def __init__(self, db: Any):
        self.db = db

    def __getitem__(self, key: str) -> Any:
        from pydantic_core import from_json
        raw = self.db.get(json.dumps(key).encode())
        if raw is None:
            raise KeyError(key)
        return from_json(raw)

    def __setitem__(self, key: str, value: Any) -> None:
        from pydantic_core import to_json
        self.db[json.dumps(key).encode()] = to_json(value)

    def __delitem__(self, key: str) -> None:
        del self.db[json.dumps(key).encode()]

    def __contains__(self, key: object) -> bool:
        return self.db.get(json.dumps(key).encode()) is not None

    def __iter__(self) -> Iterator[str]:
        return (json.loads(key) for key in self.db.keys())

    def __len__(self) -> int:
        return sum(1 for _ in self.db.keys())

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default


ROCKSDB_MEMORY = ("rocksdb.cur-size-all-mem-tables", "rocksdb.block-cache-usage", "rocksdb.estimate-table-readers-mem")


def _rocksdb_mib(tables: dict[str, _Stored]) -> float:
    """What RocksDB says its tables hold in memory: memtables, block cache, open files' readers."""
    total = 0
    for table in tables.values():
        for name in ROCKSDB_MEMORY:
            total += table.db.property_int_value(name) or 0
    return total / 2**20


def _child(items: int, burst: int, trace: int) -> dict[str, Any]:
    """In the tree on ``sys.path``: memory per open item and events/s (see the module)."""
    from faust.stores.rocksdb import RocksDBOptions

    from bench.matching_candidates import Corpus
    from services.matching.domain.text import warm_up_text_analysis
    from services.matching.processor import Processor, State
    from shared.events import decode, encode, new_event
    from shared.party_types import Side
    try:
        from shared.faust_app import ROCKSDB_OPTIONS  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        ROCKSDB_OPTIONS = {}  # faust's defaults  # noqa: N806

    corpus = Corpus(seed=7, topical=True)
    raw = []
    for n in range(items + burst):
        item = corpus.item(n, Side.OFFER if n % 2 else Side.NEED)
        entity = "listing" if item.side is Side.OFFER else "demand"
        raw.append(encode(new_event(f"{entity}.created.v1", item, source="/bench", subject=item.id)))
    del corpus
    warm_up_text_analysis()
    workdir = tempfile.mkdtemp(prefix="matching-memory-")
    tables = {}
    for name in TABLES:
        tables[name] = _Stored(RocksDBOptions(**ROCKSDB_OPTIONS).open(Path(workdir) / name))
    processor = Processor(State(**tables))

    def handle(start: int, stop: int) -> None:
        """A batch of events as the worker handles a backlog: outputs sent once per batch,
        consortia worked out once per ``SETTLE_EVERY`` events."""
        batch = processor.new_batch()
        for position in range(start, stop):
            processor.handle(decode(raw[position]), batch, position)
            raw[position] = b""
        processor.finish(batch, settle_consortia=stop % SETTLE_EVERY == 0 or stop == items + burst)
        for emission in batch.emissions:
            encode(emission.event)  # as the worker sends it
        processor.commit(batch)

    gc.collect()
    if trace:
        tracemalloc.start(1)
    before = _rss_mib()
    for start in range(0, items, BATCH):
        handle(start, min(items, start + BATCH))
    gc.collect()
    after = _rss_mib()
    result: dict[str, Any] = {"before_mib": before, "after_mib": after,
                              "per_item_kib": (after - before) * 1024 / items,
                              "matches": len(processor.engine), "rocksdb_mib": _rocksdb_mib(tables)}
    if trace:
        snapshot = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
        total = sum(s.size for s in snapshot.statistics("filename"))
        result["traced_kib_per_item"] = total / 1024 / items
        shutil.rmtree(workdir, ignore_errors=True)
        result["top"] = [(str(s.traceback[0]).replace(str(ROOT) + "/", "").split("site-packages/")[-1],
                          s.size / 1024 / items) for s in snapshot.statistics("lineno")[:trace]]
        return result
    started, cpu = time.perf_counter(), time.process_time()
    for start in range(items, items + burst, BATCH):
        handle(start, min(items + burst, start + BATCH))
    result["events_per_second"] = burst / (time.perf_counter() - started)
    result["events_per_cpu_second"] = burst / (time.process_time() - cpu)
    shutil.rmtree(workdir, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="2,000 items, 200 timed, no comparison")
    parser.add_argument("--items", type=int, default=30_000, help="open items loaded (default 30,000)")
    parser.add_argument("--burst", type=int, default=1_000, help="further item events timed (default 1,000)")
    parser.add_argument("--against", type=Path, help="another tree (e.g. a worktree of main) to run side by side")
    parser.add_argument("--trace", type=int, default=10_000, help="items of the traced run (0: none)")
    parser.add_argument("--child", nargs=3, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(*args.child)))
        return
    from bench.common import child_result, start_in_tree, write_section
    items, burst = (2_000, 200) if args.quick else (args.items, args.burst)
    trees = [("this branch", ROOT)] + ([("main (--against)", args.against)] if args.against and not args.quick else [])
    # At once: on a shared machine, the trees then see the same load while timed.
    print(f"{', '.join(label for label, _ in trees)}: {items:,} items, then {burst:,} timed ...", flush=True)
    children = {label: start_in_tree(__file__, tree, items, burst, 0) for label, tree in trees}
    tracing = start_in_tree(__file__, ROOT, args.trace, 0, 12) if args.trace and not args.quick else None
    results = {label: child_result(child) for label, child in children.items()}
    print(results, flush=True)
    rows = ["| measure | " + " | ".join(results) + " |", "|---|" + "---|" * len(results)]
    for name, key, unit in (("resident memory before the items", "before_mib", "MiB"),
                            (f"resident memory with {items:,} open items", "after_mib", "MiB"),
                            ("per open item", "per_item_kib", "KiB"),
                            ("current matches", "matches", ""),
                            ("of which RocksDB (memtables, block cache, table readers)", "rocksdb_mib", "MiB"),
                            (f"events/s, {burst:,} further items over {items:,} (wall clock)", "events_per_second", ""),
                            ("the same per second of the process's CPU time (robust to the machine's load)",
                             "events_per_cpu_second", "")):
        rows.append(f"| {name} | " + " | ".join(f"{r[key]:,.1f} {unit}".strip() for r in results.values()) + " |")
    body = (__doc__.split("\n\n")[0].replace("\n", " ") + f" Sizes: {items:,} items, {burst:,} timed"
            f"{' (--quick)' if args.quick else ''}.\n\n" + "\n".join(rows) + "\n")
    if tracing is not None:
        traced = child_result(tracing)
        body += (f"\nPython allocations of this branch over {args.trace:,} items (tracemalloc, "
                 f"{traced['traced_kib_per_item']:.1f} KiB per item traced of {traced['per_item_kib']:.1f} KiB "
                 f"resident), top sites per item:\n\n| site | KiB per item |\n|---|---|\n"
                 + "\n".join(f"| `{site}` | {kib:.2f} |" for site, kib in traced["top"]) + "\n")
    body += "\n" + WHERE_THE_TIME_GOES + "\n"
    print(body)
    print("wrote", write_section("matching_memory_in_process", "Matching engine memory per open item, in-process",
                                 body))


if __name__ == "__main__":
    main()
