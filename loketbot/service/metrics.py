"""Prometheus metrics: match latency measured in the desk, totals read from the store per scrape."""

from __future__ import annotations

__all__ = ["CONTENT_TYPE", "MATCH_SECONDS", "exposition"]

from collections.abc import Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from loketbot.store.insight import Counts
from loketbot.store.models import DIRECTIONS, HANDOFF_STATUSES

CONTENT_TYPE = CONTENT_TYPE_LATEST

# Not in prometheus_client's default registry: each scrape builds its own registry (below), so
# several apps or tests in one process never collide over a metric name.
MATCH_SECONDS = Histogram(
    "loketbot_match_seconds",
    "Time to understand one inbound message (matching and the dialogue step), in seconds.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
    registry=None,
)


class _Totals(Collector):
    """Messages and handoffs as counted in the database at scrape time."""

    def __init__(self, counts: Counts) -> None:
        self._counts = counts

    def collect(self) -> Iterator[Metric]:
        messages = CounterMetricFamily(
            "loketbot_messages", "Messages received (in) and sent (out).", labels=["direction"]
        )
        for direction in DIRECTIONS:
            messages.add_metric([direction], self._counts.messages.get(direction, 0))
        yield messages
        handoffs = GaugeMetricFamily(
            "loketbot_handoffs", "Handoffs (tickets) by status.", labels=["status"]
        )
        for status in HANDOFF_STATUSES:
            handoffs.add_metric([status], self._counts.handoffs.get(status, 0))
        yield handoffs


def exposition(counts: Counts) -> bytes:
    """The Prometheus text format of every loketbot metric."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Totals(counts))
    registry.register(MATCH_SECONDS)
    return generate_latest(registry)
