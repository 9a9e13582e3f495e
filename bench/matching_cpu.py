"""The matching worker's CPU per input event, in-process, this code against another tree (e.g. main
in a ``git worktree``) in the same run, and the share of it that consortia (五方联动) take.

Each tree runs in a child process of its own (``PYTHONPATH`` = the tree), both at once so that they
are timed under the same load: the service's ``Processor`` over plain dicts handles ``--items``
item events of the synthetic corpus (``bench.matching_candidates.Corpus``, topical; every fifth
owner posts several items, so parties' own needs count in consortia), outputs sent in batches of
200 and consortia settled once per batch (not timed). Then it times ``--timed`` further item
events twice: consortia settled after every event (an idle worker: the forward consumer writes a
settle mark after each input) and once per 200 events (a worker working off a backlog: a mark per
forwarded fetch). Each output is encoded once, as the worker sends it. CPU is the process's
(``time.process_time``); the consortium share is the CPU spent in ``ConsortiumBook``'s methods
(marking and settling; the consortium events' encoding and ledger aside). No broker: the worker on
the broker is ``bench.matching_workers``."""

from __future__ import annotations

import argparse
import json
import sys
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BATCH = 200
WHERE_THE_TIME_GOES = (
    "Reading (2026-12-07, issue #18 step 1, against main in the same run, 5,000 open items): consortia's CPU "
    "per input fell from ~44 to ~12 ms when settled after every event (69% of 63.7 ms against 46% of 26.8 ms) "
    "and from ~37 to ~12 ms in a backlog, with the same decisions (the same outputs per input here; "
    "byte-identical event streams on a mixed stream of new, changed and withdrawn items, participants and "
    "declines: services/matching/README.md, Five-party consortia). Where the rest goes (cProfile of this "
    "branch, 3,000 open items, 300 events settled after each, machine quieter): the engine 36% (candidate "
    "search 20%, scoring and shared terms of the winners 11%), consortia ~35% (`settle` 21%, of it building "
    "the `ConsortiumData` of teams worked out again 10% and support roles not known 9%; "
    "`note_support_offer` 14%), emitting consortia 9%, output event ids (`uuid5`) 7%. The goal, 2,000 "
    "events/s, is ~50x away for one worker: next, keep a team's proposal itself while its match's score and "
    "members' names are the same (no model built for an unchanged team), and mark a need's other matches only "
    "when its best three changed; then the engine's search (compiled core) and several workers (stage A).")
MODES = (("idle: consortia settled after every event", 1), ("backlog: consortia settled every 200 events", BATCH))


def _child(items: int, timed: int) -> dict[str, Any]:
    """In the tree on ``sys.path``: CPU per event, whole and in consortia (see the module)."""
    from bench.matching_candidates import Corpus
    from services.matching.domain import consortium
    from services.matching.domain.text import warm_up_text_analysis
    from services.matching.processor import Processor, State
    from shared.events import decode, encode, new_event
    from shared.party_types import Side

    spent = [0.0]

    def counted(method: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.process_time()
            try:
                return method(*args, **kwargs)
            finally:
                spent[0] += time.process_time() - started
        return wrapper

    book = consortium.ConsortiumBook
    for name in ("note_matches", "note_support_offer", "note_participant", "settle"):
        setattr(book, name, counted(getattr(book, name)))

    corpus = Corpus(seed=7, topical=True)
    raw = []
    for n in range(items + 2 * timed):
        item = corpus.item(n, Side.OFFER if n % 2 else Side.NEED)
        if n % 5 == 0:  # an owner with several items
            item = item.model_copy(update={"owner_id": f"p-shared-{n % 997}"})
        entity = "listing" if item.side is Side.OFFER else "demand"
        raw.append(encode(new_event(f"{entity}.created.v1", item, source="/bench", subject=item.id)))
    del corpus
    warm_up_text_analysis()
    processor = Processor(State(items={}, participants={}, feedback={}, sessions={}, ledger={}))

    def handle(start: int, stop: int, settle_every: int) -> int:
        batch = processor.new_batch()
        for position in range(start, stop):
            processor.handle(decode(raw[position]), batch, position)
            if (position + 1) % settle_every == 0:
                processor.finish(batch)
        processor.finish(batch)
        for emission in batch.emissions:
            encode(emission.event)
        processor.commit(batch)
        return len(batch.emissions)

    for start in range(0, items, BATCH):
        handle(start, min(items, start + BATCH), BATCH)
    result: dict[str, Any] = {"matches": len(processor.engine)}
    start = items
    for label, settle_every in MODES:
        spent[0] = 0.0
        outputs, cpu, wall = 0, time.process_time(), time.perf_counter()
        load = os.getloadavg()[0]
        for first in range(start, start + timed, BATCH):
            outputs += handle(first, min(start + timed, first + BATCH), settle_every)
        cpu = time.process_time() - cpu
        result[label] = {"events_per_cpu_second": timed / cpu, "cpu_ms_per_event": 1000 * cpu / timed,
                         "consortium_share": spent[0] / cpu, "outputs_per_event": outputs / timed,
                         "wall_seconds": time.perf_counter() - wall, "load": (load + os.getloadavg()[0]) / 2}
        start += timed
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1,000 items, 100 timed per mode, no comparison")
    parser.add_argument("--items", type=int, default=5_000, help="open items loaded first (default 5,000)")
    parser.add_argument("--timed", type=int, default=400, help="further item events timed per mode (default 400)")
    parser.add_argument("--against", type=Path, help="another tree (e.g. a worktree of main) to run side by side")
    args = parser.parse_args()
    from bench.common import child_result, start_in_tree, trees, write_section
    items, timed = (1_000, 100) if args.quick else (args.items, args.timed)
    runs = trees(ROOT, args.against, args.quick)
    print(f"{', '.join(label for label, _ in runs)}: {items:,} items, then {timed:,} timed per mode ...", flush=True)
    children = {label: start_in_tree(__file__, tree, items, timed) for label, tree in runs}
    results = {label: child_result(child) for label, child in children.items()}
    print(results, flush=True)
    rows = ["| measure | " + " | ".join(results) + " |", "|---|" + "---|" * len(results)]
    rows.append("| current matches after the run | " + " | ".join(f"{r['matches']:,}" for r in results.values()) + " |")
    for label, _ in MODES:
        for name, key, form in (("events per CPU second", "events_per_cpu_second", "{:,.1f}"),
                                ("CPU per input event", "cpu_ms_per_event", "{:,.1f} ms"),
                                ("of which consortia (marking and settling)", "consortium_share", "{:.0%}"),
                                ("outputs per input event", "outputs_per_event", "{:.2f}"),
                                ("load average while timed", "load", "{:.1f}")):
            rows.append(f"| {label}: {name} | " + " | ".join(form.format(r[label][key]) for r in results.values())
                        + " |")
    if len(results) == 2:
        mine, theirs = results.values()
        for label, _ in MODES:
            rows.append(f"| {label}: events per CPU second, this branch / main | "
                        f"{mine[label]['events_per_cpu_second'] / theirs[label]['events_per_cpu_second']:.2f}× | |")
    body = (__doc__.split("\n\n")[0].replace("\n", " ") + f" Sizes: {items:,} items loaded, {timed:,} timed per mode"
            f"{' (--quick)' if args.quick else ''}.\n\n" + "\n".join(rows) + "\n\n" + WHERE_THE_TIME_GOES + "\n")
    print(body)
    print("wrote", write_section("matching_cpu", "Matching worker CPU per input, in-process (consortia)", body))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:  # in a tree (``start_in_tree``): its code, this script
        print(json.dumps(_child(*map(int, sys.argv[2:]))))
    else:
        main()
