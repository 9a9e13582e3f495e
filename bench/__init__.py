"""Benchmarks: each module measures one thing against its comparison in the same run and writes
bench/results/<name>.md; ``python -m bench`` runs them all and assembles bench/results.md."""
