"""The monitor's pure core: lag in seconds, Burrow-style evaluation over a window, alert rules.

Nothing here talks to Kafka or MongoDB; the adapters feed it observations and read snapshots.
"""
