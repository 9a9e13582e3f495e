"""Prometheus metrics of the funnel, counted by the consumer as each step is first counted: per
step and party-type pair, and per step and each key the API answers for (session, first-level
field, region, strategy, pair)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

HOUR, DAY = 3600, 86400

FUNNEL_STEPS = Counter("deals_funnel_steps_total",
                       "Matches reaching a funnel step (made, accepted, met, signed) or closed without a contract",
                       ["step", "pair"])
FUNNEL_KEY_STEPS = Counter("deals_funnel_key_steps_total",
                           "Matches reaching a funnel step, per session, field, region, strategy and party-type "
                           "pair (the API's keys: a few labels per session, field and region)",
                           ["step", "dimension", "value"])
CONTRACT_TURNOVER = Counter("deals_contract_turnover_total", "Turnover of signed technology contracts",
                            ["currency"])
DEAL_CHANGES = Counter("deals_changes_total", "Deal changes written, by event type", ["type"])
STEP_SECONDS = Histogram("deals_step_seconds",
                         "Time a match took to reach a funnel step from the step before (accepted: since the match)",
                         ["step"], buckets=(HOUR, DAY, 7 * DAY, 30 * DAY, 90 * DAY, 180 * DAY, 365 * DAY))
