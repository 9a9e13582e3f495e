"""Outputs per input of the matching service's ``Processor``, in-process: how many match,
consortium and agenda events one new item causes, who receives them, and how many matches an
item holds on each side. Synthetic items from ``bench.matching_candidates.Corpus`` (every item has
an owner of its own, so a match event concerns the two owners of its pair).

The preload is handled as the worker handles a backlog (batches of ``BATCH_SIZE``, consortia
settled once caught up); the timed new items one at a time, each settled at once, as a worker
that keeps up handles them. ``--code DIR`` runs the counting on another checkout (a
``git worktree`` of an older commit) in a child process, so old and new are counted in one run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from bench.common import write_section

BATCH_SIZE = 200


def count(preload: int, new: int) -> dict[str, Any]:
    """Outputs per new item, by type and by recipient, and matches per item at the end."""
    from bench.matching_candidates import Corpus
    from bench.matching_service import _event, _items
    from services.matching.processor import Processor, State
    from shared.events import decode

    processor = Processor(State(items={}, participants={}, feedback={}, sessions={}, ledger={}))
    corpus = Corpus(seed=7, topical=True)
    items = _items(corpus, 0, preload + new)
    events = [decode(_event(item)) for item in items]
    for start in range(0, preload, BATCH_SIZE):
        batch = processor.new_batch()
        chunk = events[start:min(start + BATCH_SIZE, preload)]
        for position, event in enumerate(chunk, start=start):
            processor.handle(event, batch, position)
        processor.finish(batch, settle_consortia=start + BATCH_SIZE >= preload)
        processor.commit(batch)
    by_type: Counter[str] = Counter()
    # per new item: events that concern its owner, and events that concern anyone else
    to_owner: Counter[str] = Counter()
    to_others: Counter[str] = Counter()
    others_told: list[int] = []
    for position, event in enumerate(events[preload:], start=preload):
        batch = processor.new_batch()
        processor.handle(event, batch, position)
        processor.finish(batch)
        processor.commit(batch)
        owner = event.data.owner_id
        told: set[str] = set()
        for emission in batch.emissions:
            out = emission.event
            by_type[out.type] += 1
            data = out.data
            if hasattr(data, "members"):
                parties = {m.participant_id for m in data.members}
            elif hasattr(data, "participant_ids"):
                parties = set(data.participant_ids)
            else:
                parties = {data.offer.owner_id, data.need.owner_id}
            if owner in parties:
                to_owner[out.type] += 1
            others = parties - {owner}
            to_others[out.type] += len(others)
            told |= others
        others_told.append(len(told))
    per_item: dict[str, list[int]] = {"offer": [], "need": []}
    for item in items:
        if item.id in processor.state.items:
            per_item[item.side.value].append(len(processor.engine.matches_for(item.id)))
    return {
        "preload": preload, "new": new,
        "by_type": {t: n / new for t, n in sorted(by_type.items())},
        "outputs": sum(by_type.values()) / new,
        "to_owner": {t: n / new for t, n in sorted(to_owner.items())},
        "to_others": {t: n / new for t, n in sorted(to_others.items())},
        "others_told_median": statistics.median(others_told),
        "others_told_max": max(others_told),
        "matches_per_item": {side: {"median": statistics.median(n), "max": max(n)} for side, n in per_item.items()},
    }


def count_in(code: Path | None, preload: int, new: int) -> dict[str, Any]:
    """``count`` on the checkout ``code`` (this one when None), in a child process."""
    root = code or Path(__file__).resolve().parents[1]
    program = (f"import json, sys; sys.path.insert(0, {str(root)!r}); "
               f"from bench.matching_outputs import count; print(json.dumps(count({preload}, {new})))")
    if code is not None and not (code / "bench" / "matching_outputs.py").exists():
        # an older checkout without this module: count with this file's function on its code
        program = (f"import json, sys; sys.path.insert(0, {str(root)!r}); "
                   f"sys.path.append({str(Path(__file__).resolve().parents[1])!r}); "
                   f"import importlib.util; spec = importlib.util.spec_from_file_location('counting', "
                   f"{str(Path(__file__).resolve())!r}); counting = importlib.util.module_from_spec(spec); "
                   f"spec.loader.exec_module(counting); print(json.dumps(counting.count({preload}, {new})))")
    result = subprocess.run([sys.executable, "-c", program], cwd=root, capture_output=True, text=True, check=True)
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def table(results: dict[str, dict[str, Any]]) -> str:
    names = list(results)
    types = sorted({t for r in results.values() for t in r["by_type"]})
    rows = [f"| per new item | {' | '.join(names)} |", f"|---|{'---:|' * len(names)}"]

    def row(label: str, values: list[str]) -> None:
        rows.append(f"| {label} | {' | '.join(values)} |")

    row("**output events**", [f"**{r['outputs']:.2f}**" for r in results.values()])
    for t in types:
        row(f"`{t}`", [f"{r['by_type'].get(t, 0):.2f}" for r in results.values()])
    for t in types:
        row(f"`{t}` naming the new item's owner", [f"{r['to_owner'].get(t, 0):.2f}" for r in results.values()])
    for t in types:
        row(f"`{t}` naming another participant (per participant named)",
            [f"{r['to_others'].get(t, 0):.2f}" for r in results.values()])
    row("other participants told anything, median / max", [f"{r['others_told_median']:.0f} / {r['others_told_max']}"
                                                          for r in results.values()])
    for side in ("offer", "need"):
        row(f"matches per open {side} at the end, median / max",
            [f"{r['matches_per_item'][side]['median']:.0f} / {r['matches_per_item'][side]['max']}"
             for r in results.values()])
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1,000 preloaded items and 200 new ones")
    parser.add_argument("--preload", type=int, help="open items before the counted ones (default 5,000)")
    parser.add_argument("--new", type=int, help="new items counted (default 500)")
    parser.add_argument("--code", type=Path, help="also count on this checkout (e.g. a git worktree of main)")
    parser.add_argument("--code-label", default="before", help="column name of --code's figures")
    args = parser.parse_args()
    preload = args.preload or (1_000 if args.quick else 5_000)
    new = args.new or (200 if args.quick else 500)
    if preload <= 0 or new <= 0:
        parser.error("--preload and --new must be positive numbers of items")
    results: dict[str, dict[str, Any]] = {}
    if args.code is not None:
        if not (args.code / "services" / "matching").is_dir():
            parser.error(f"--code {args.code}: not a checkout of this project (no services/matching)")
        results[args.code_label] = count_in(args.code, preload, new)
    results["this checkout"] = count_in(None, preload, new)
    body = (f"`python -m bench.matching_outputs{' --code … ' if args.code else ''}`: {preload:,} synthetic open "
            f"items preloaded (backlog batches of {BATCH_SIZE}), then {new:,} new items handled one at a time, each "
            f"settled at once as a worker that keeps up does; events per new item (an event naming two other "
            f"participants counts twice in the third block).\n\n{table(results)}\n")
    print(body)
    print("wrote", write_section("matching_outputs", "Matching: outputs per input", body))


if __name__ == "__main__":
    main()
