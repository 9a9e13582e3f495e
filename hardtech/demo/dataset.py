"""Generate, write and load the demo data set.

    python -m hardtech.demo.dataset [--seed N] [--output PATH]

The same seed always gives the same data set; the committed ``data/dataset.json`` is the one for
``DEFAULT_SEED`` (a unit test regenerates it and compares, so it cannot go stale).
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from hardtech.demo import items, participants, sessions
from hardtech.demo.model import Dataset

DEFAULT_SEED = 2020  # the year of the seed document's work plan
DEFAULT_PATH = Path(__file__).resolve().parent / "data" / "dataset.json"


def generate(seed: int = DEFAULT_SEED) -> Dataset:
    rng = random.Random(seed)
    members = participants.build(rng)
    offers_and_needs = items.build(rng, members)
    people = [p for p, _ in members]
    session_list, registrations, requests = sessions.build(rng, people, offers_and_needs)
    return Dataset(seed=seed, participants=people, items=offers_and_needs, sessions=session_list,
                   registrations=registrations, meeting_requests=requests)


def render(dataset: Dataset) -> str:
    """JSON with one record per line: compact, yet a regenerated file diffs line by line."""
    data = dataset.model_dump(mode="json")
    parts = []
    for name, value in data.items():
        if isinstance(value, list):
            rows = ",\n".join(f"  {json.dumps(row, ensure_ascii=False)}" for row in value)
            parts.append(f"{json.dumps(name)}: [\n{rows}\n]")
        else:
            parts.append(f"{json.dumps(name)}: {json.dumps(value)}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def write(dataset: Dataset, path: Path = DEFAULT_PATH) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(dataset), encoding="utf-8")


def load(path: Path = DEFAULT_PATH) -> Dataset:
    return Dataset.model_validate_json(path.read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m hardtech.demo.dataset", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    parser.add_argument("--output", type=Path, default=DEFAULT_PATH, help="where to write the JSON file")
    args = parser.parse_args(argv)
    dataset = generate(args.seed)
    write(dataset, args.output)
    print(f"wrote {args.output}: {len(dataset.participants)} participants, {len(dataset.items)} offers and needs, "
          f"{len(dataset.sessions)} sessions, {len(dataset.registrations)} registrations, "
          f"{len(dataset.meeting_requests)} meeting requests")


if __name__ == "__main__":
    main()
