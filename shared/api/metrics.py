"""Prometheus metrics every service exposes on ``/metrics``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

HTTP_REQUESTS = Counter("http_requests_total", "HTTP requests", ["service", "method", "route", "status"])
HTTP_LATENCY = Histogram("http_request_duration_seconds", "HTTP request latency", ["service", "method", "route"],
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
EVENTS_CONSUMED = Counter("events_consumed_total", "Events handled by a consumer", ["service", "type"])
EVENTS_DEAD_LETTERED = Counter("events_dead_lettered_total", "Events sent to a dead-letter topic", ["service"])


def exposition(others: Mapping[str, str], *, label: str) -> bytes:
    """This process's metrics in Prometheus' text format, with those of the service's other
    processes (their text exposition by name, e.g. a stream worker's) merged in family by family,
    each of their samples labelled ``label=<name>``: one family is never written twice."""
    if not others:
        return generate_latest()
    families = {family.name: family for family in REGISTRY.collect()}
    for name, text in others.items():
        for family in text_string_to_metric_families(text):
            if family.type == "gauge" and family.name.endswith("_created"):
                continue  # the creation time of a counter or histogram, written again with it
            samples = [sample._replace(labels={**sample.labels, label: name}) for sample in family.samples]
            if family.name in families:
                families[family.name].samples.extend(samples)
            else:
                family.samples = samples
                families[family.name] = family
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families(list(families.values())))
    return generate_latest(registry)


class _Families(Collector):
    def __init__(self, families: list[Metric]):
        self._families = families

    def collect(self) -> Iterable[Metric]:
        return self._families
