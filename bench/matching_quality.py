"""Matching quality on the labelled set, through the engine as the worker runs it.

    python -m bench.matching_quality

``tests/unit/matching/data/labelled.json`` (offers, needs with the expected offer, forbidden
offers breaking a hard rule, cross-lingual pairs) matched by ``MatchEngine`` with the service's
threshold (0.35) and top-k (10), with and without the zh↔en bridge (``shared.lexicon``).
"""

from __future__ import annotations

from bench.common import write_section
from tests.unit.matching.labelled import cross_lingual, engine_quality, forbidden, load


def main() -> None:
    offers, needs, expected = load()
    directions = cross_lingual(offers, needs, expected)
    rows = []
    for bridge in (True, False):
        q = engine_quality(bridge=bridge)
        rows.append(f"| {'on' if bridge else 'off'} | {q.needs} | {q.top1:.2f} | {q.top3:.2f} | {q.mrr:.2f} "
                    f"| {q.forbidden_matched} | {q.cross_lingual_top1:.2f} |")
    body = (f"{len(offers)} offers, {len(needs)} needs; {sum(len(v) for v in forbidden().values())} forbidden pairs "
            f"(TRL floor, transfer mode, non-overlapping budget, required region, same top-level field without "
            f"content); cross-lingual needs zh→en {len(directions['zh→en'])}, en→zh {len(directions['en→zh'])}. "
            "Each need's matches as the engine keeps them (threshold 0.35, top-k 10), offers first, then needs.\n\n"
            "Command: `.venv/bin/python -m bench.matching_quality`\n\n"
            "| zh↔en bridge | needs | top-1 | top-3 | MRR | forbidden pairs matched | cross-lingual top-1 |\n"
            "|---|---:|---:|---:|---:|---:|---:|\n" + "\n".join(rows) + "\n")
    sweep = []
    for threshold in (0.25, 0.30, 0.35, 0.40, 0.45, 0.50, 0.55):
        q = engine_quality(threshold=threshold)
        sweep.append(f"| {threshold:.2f} | {q.recall:.2f} | {q.precision:.2f} | {q.matches_per_need:.1f} "
                     f"| {q.forbidden_matched} |")
    body += ("\nThreshold calibration (bridge on): recall is the share of needs whose expected offer is matched, "
             "precision the share of needs with a match whose first match is the expected offer.\n\n"
             "| threshold | recall | precision | matches per need | forbidden matched |\n|---:|---:|---:|---:|---:|\n"
             + "\n".join(sweep) + "\n")
    print(body)
    write_section("matching_quality", "Matching quality: the labelled set through the engine", body)


if __name__ == "__main__":
    main()
