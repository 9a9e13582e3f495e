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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import write_section

BATCH_SIZE = 200


REFRESH_EVERY = 4  # after every 4th new item, one open item is saved again


@dataclass
class Tally:
    """Output events of one kind of input: per type, and per recipient."""

    inputs: int = 0
    by_type: Counter[str] = field(default_factory=Counter)
    to_owner: Counter[str] = field(default_factory=Counter)  # events naming the input item's owner
    to_others: Counter[str] = field(default_factory=Counter)  # per other participant named
    others_told: list[int] = field(default_factory=list)

    def add(self, owner: str, events: list[Any]) -> None:
        self.inputs += 1
        told: set[str] = set()
        for out in events:
            self.by_type[out.type] += 1
            data = out.data
            if hasattr(data, "members"):
                parties = {m.participant_id for m in data.members}
            elif hasattr(data, "participant_ids"):
                parties = set(data.participant_ids)
            else:
                parties = {data.offer.owner_id, data.need.owner_id}
            if owner in parties:
                self.to_owner[out.type] += 1
            others = parties - {owner}
            self.to_others[out.type] += len(others)
            told |= others
        self.others_told.append(len(told))

    def summary(self) -> dict[str, Any]:
        n = max(1, self.inputs)
        return {"inputs": self.inputs, "outputs": sum(self.by_type.values()) / n,
                "by_type": {t: c / n for t, c in sorted(self.by_type.items())},
                "to_owner": {t: c / n for t, c in sorted(self.to_owner.items())},
                "to_others": {t: c / n for t, c in sorted(self.to_others.items())},
                "others_told_median": statistics.median(self.others_told or [0]),
                "others_told_max": max(self.others_told or [0])}


def count(preload: int, new: int, top_k: int = 10) -> dict[str, Any]:
    """Outputs per new item and per item saved again, by type and by recipient, and matches per
    item at the end."""
    from bench.matching_candidates import Corpus
    from bench.matching_service import _items
    from services.matching.processor import Processor, State
    from shared.events import new_event
    from shared.party_types import Side

    def event(item: Any, change: str) -> Any:
        entity = "listing" if item.side is Side.OFFER else "demand"
        return new_event(f"{entity}.{change}.v1", item, source="/bench", subject=item.id)

    processor = Processor(State(items={}, participants={}, feedback={}, sessions={}, ledger={}), top_k=top_k)
    corpus = Corpus(seed=7, topical=True)
    items = _items(corpus, 0, preload + new)
    for start in range(0, preload, BATCH_SIZE):
        batch = processor.new_batch()
        chunk = items[start:min(start + BATCH_SIZE, preload)]
        for position, item in enumerate(chunk, start=start):
            processor.handle(event(item, "created"), batch, position)
        processor.finish(batch, settle_consortia=start + BATCH_SIZE >= preload)
        processor.commit(batch)
    tallies = {"new": Tally(), "saved again": Tally()}
    position = preload
    for n, item in enumerate(items[preload:]):
        inputs = [("new", event(item, "created"))]
        if n % REFRESH_EVERY == REFRESH_EVERY - 1:
            # an open item saved again by its owner (same content): rescored a little later
            again = items[(n * 7919) % preload]
            inputs.append(("saved again", event(again.model_copy(update={"version": again.version + 1 + n,
                                                                         "updated_at": datetime.now(UTC)}),
                                                 "updated")))
        for kind, input_event in inputs:
            batch = processor.new_batch()
            processor.handle(input_event, batch, position)
            processor.finish(batch)
            processor.commit(batch)
            position += 1
            tallies[kind].add(input_event.data.owner_id, [e.event for e in batch.emissions])
    per_item: dict[str, list[int]] = {"offer": [], "need": []}
    for item in items:
        if item.id in processor.state.items:
            per_item[item.side.value].append(len(processor.engine.matches_for(item.id)))
    return {
        "preload": preload, "new": new, **{kind: tally.summary() for kind, tally in tallies.items()},
        "matches_per_item": {side: {"median": statistics.median(n), "max": max(n)} for side, n in per_item.items()},
    }


def count_in(code: Path | None, preload: int, new: int, top_k: int) -> dict[str, Any]:
    """``count`` on the checkout ``code`` (this one when None), in a child process."""
    root = code or Path(__file__).resolve().parents[1]
    program = (f"import json, sys; sys.path.insert(0, {str(root)!r}); "
               f"from bench.matching_outputs import count; print(json.dumps(count({preload}, {new}, {top_k})))")
    if code is not None and not (code / "bench" / "matching_outputs.py").exists():
        # an older checkout without this module: count with this file's function on its code
        program = (f"import json, sys; sys.path.insert(0, {str(root)!r}); "
                   f"sys.path.append({str(Path(__file__).resolve().parents[1])!r}); "
                   f"import importlib.util; spec = importlib.util.spec_from_file_location('counting', "
                   f"{str(Path(__file__).resolve())!r}); counting = importlib.util.module_from_spec(spec); "
                   f"sys.modules['counting'] = counting; spec.loader.exec_module(counting); print(json.dumps(counting.count({preload}, {new}, {top_k})))")
    result = subprocess.run([sys.executable, "-c", program], cwd=root, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"counting on {root} failed:\n{result.stderr}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def table(results: dict[str, dict[str, Any]], kind: str) -> str:
    names = list(results)
    columns = [r[kind] for r in results.values()]
    types = sorted({t for c in columns for t in c["by_type"]})
    rows = [f"| per {kind} item | {' | '.join(names)} |", f"|---|{'---:|' * len(names)}"]

    def row(label: str, values: list[str]) -> None:
        rows.append(f"| {label} | {' | '.join(values)} |")

    row("**output events**", [f"**{c['outputs']:.2f}**" for c in columns])
    for t in types:
        row(f"`{t}`", [f"{c['by_type'].get(t, 0):.2f}" for c in columns])
    for t in types:
        row(f"`{t}` naming the item's owner", [f"{c['to_owner'].get(t, 0):.2f}" for c in columns])
    for t in types:
        row(f"`{t}` naming another participant (per participant named)",
            [f"{c['to_others'].get(t, 0):.2f}" for c in columns])
    row("other participants told anything, median / max",
        [f"{c['others_told_median']:.0f} / {c['others_told_max']}" for c in columns])
    if kind == "new":
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
    parser.add_argument("--top-k", type=int, nargs="+", default=[10],
                        help="the most matches an item holds (MATCHING_TOP_K); several: a column each")
    args = parser.parse_args()
    preload = args.preload or (1_000 if args.quick else 5_000)
    new = args.new or (200 if args.quick else 500)
    if preload <= 0 or new <= 0 or min(args.top_k) <= 0:
        parser.error("--preload, --new and --top-k must be positive numbers")
    results: dict[str, dict[str, Any]] = {}
    if args.code is not None:
        if not (args.code / "services" / "matching").is_dir():
            parser.error(f"--code {args.code}: not a checkout of this project (no services/matching)")
        results[args.code_label] = count_in(args.code, preload, new, args.top_k[0])
    for top_k in args.top_k:
        results[f"this checkout, top-k {top_k}"] = count_in(None, preload, new, top_k)
    body = (f"`python -m bench.matching_outputs{' --code … ' if args.code else ''}`: {preload:,} synthetic open "
            f"items preloaded (backlog batches of {BATCH_SIZE}), then {new:,} new items handled one at a time, each "
            f"settled at once as a worker that keeps up does; after every {REFRESH_EVERY}th, an open item is saved "
            f"again by its owner (same content, `updated_at` now). Events per input (an event naming two other "
            f"participants counts twice in the third block).\n\n{table(results, 'new')}\n\n"
            f"{table(results, 'saved again')}\n")
    print(body)
    print("wrote", write_section("matching_outputs", "Matching: outputs per input", body))


if __name__ == "__main__":
    main()
