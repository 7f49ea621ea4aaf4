"""Server RED metrics (Prometheus, OTel HTTP semantic-convention names).

- `http_server_request_duration_seconds{http_request_method, http_route,
  http_response_status_code}` histogram: `http_route` is the route *template*
  (`/users/{user_id}`), never the raw path, so cardinality stays bounded;
- `http_server_active_requests{http_request_method}` gauge;
- `http_server_client_deadline_exceeded_total{http_request_method, http_route}`: 504s
  answered after the caller's own `X-Request-Deadline-Ms` had run out. They are counted
  here instead of in the histogram, so the SLIs (which read the histogram) never count
  a deadline the client chose against the service.

Buckets are configurable so an SLO latency threshold can be a bucket edge (the
latency SLI counts requests under `le=threshold`). Several uvicorn workers: set
`PROMETHEUS_MULTIPROC_DIR` and `/metrics` aggregates every worker's files.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

DEFAULT_BUCKETS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.8, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
REQUEST_DURATION = "http_server_request_duration_seconds"
ACTIVE_REQUESTS = "http_server_active_requests"
CLIENT_DEADLINE_EXCEEDED = "http_server_client_deadline_exceeded"
UNMATCHED_ROUTE = "__unmatched__"


@dataclass(frozen=True)
class ServerMetrics:
    """The server's metric families, with their label children bound once: `labels()`
    hashes and locks on every call, which the request path would pay two or three
    times per request; the children are few (methods, route templates and statuses)."""

    duration: Histogram
    active: Gauge
    client_deadline_exceeded: Counter
    _bound: dict[tuple[object, ...], object] = field(default_factory=dict, compare=False)

    def duration_of(self, method: str, route: str, status: int) -> Histogram:
        return self._child(self.duration, method, route, str(status))

    def active_of(self, method: str) -> Gauge:
        return self._child(self.active, method)

    def deadline_exceeded_of(self, method: str, route: str) -> Counter:
        return self._child(self.client_deadline_exceeded, method, route)

    def _child(self, family: Any, *labels: str) -> Any:
        key = (id(family), *labels)
        child = self._bound.get(key)
        if child is None:
            child = self._bound[key] = family.labels(*labels)
        return child


_server_metrics: ServerMetrics | None = None


def server_metrics(buckets: Sequence[float] | None = None) -> ServerMetrics:
    """The process's server metrics, created on first use on the default registry.

    A process has one set (Prometheus forbids duplicate names); the first caller's
    buckets win, which is the service's own `create_app` in practice.
    """
    global _server_metrics
    if _server_metrics is None:
        _server_metrics = ServerMetrics(
            duration=Histogram(
                REQUEST_DURATION,
                "Duration of HTTP server requests.",
                ["http_request_method", "http_route", "http_response_status_code"],
                buckets=tuple(sorted(buckets or DEFAULT_BUCKETS)),
            ),
            active=Gauge(
                ACTIVE_REQUESTS,
                "Number of active HTTP server requests.",
                ["http_request_method"],
                multiprocess_mode="livesum",
            ),
            client_deadline_exceeded=Counter(
                CLIENT_DEADLINE_EXCEEDED,
                "HTTP requests answered 504 after the caller's own deadline had passed.",
                ["http_request_method", "http_route"],
            ),
        )
    return _server_metrics


def render_latest() -> tuple[bytes, str]:
    """The exposition text for /metrics (every worker's when multi-process)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
