"""Client-side metrics (Prometheus, OTel HTTP client semantic-convention names).

- `http_client_request_duration_seconds{http_request_method, server_address, server_port,
  http_response_status_code, error_type}` — one observation per attempt;
- `resilience_call_duration_seconds{upstream, outcome}` — one per logical call;
- `resilience_attempts_total{upstream, kind}` — kind = original | retry | hedge;
- `resilience_retry_budget_exhausted_total{upstream}`;
- `resilience_breaker_transitions_total{upstream, endpoint, to_state}` and
  `resilience_breaker_state{upstream, endpoint}` (0 closed, 1 half-open, 2 open);
- `resilience_rejected_total{upstream, reason}` — circuit_open | bulkhead_full |
  deadline | queued (waited for a free endpoint until the deadline).
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import Counter, Gauge, Histogram

# The SLIs of upstream calls (`observability.slo.upstream_calls`) are written on it.
CALL_DURATION = "resilience_call_duration_seconds"
CLIENT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.8, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True)
class ClientMetrics:
    attempt_duration: Histogram
    call_duration: Histogram
    attempts: Counter
    budget_exhausted: Counter
    breaker_transitions: Counter
    breaker_state: Gauge
    rejected: Counter

    def forget(self, upstream: str) -> None:
        """Drop every series of one upstream (per-attempt series are per endpoint)."""
        labels = {"upstream": upstream}
        for metric in (
            self.call_duration,
            self.attempts,
            self.budget_exhausted,
            self.breaker_transitions,
            self.breaker_state,
            self.rejected,
        ):
            metric.remove_by_labels(labels)


_metrics: ClientMetrics | None = None


def client_metrics() -> ClientMetrics:
    """The process's client metrics on the default registry (created once)."""
    global _metrics
    if _metrics is None:
        _metrics = ClientMetrics(
            attempt_duration=Histogram(
                "http_client_request_duration_seconds",
                "Duration of each outbound HTTP attempt.",
                [
                    "http_request_method",
                    "server_address",
                    "server_port",
                    "http_response_status_code",
                    "error_type",
                ],
                buckets=CLIENT_BUCKETS,
            ),
            call_duration=Histogram(
                CALL_DURATION,
                "Duration of each logical call (all attempts, backoff and hedges).",
                ["upstream", "outcome"],
                buckets=CLIENT_BUCKETS,
            ),
            attempts=Counter(
                "resilience_attempts", "Attempts sent, by kind.", ["upstream", "kind"]
            ),
            budget_exhausted=Counter(
                "resilience_retry_budget_exhausted",
                "Retries or hedges refused by the retry budget.",
                ["upstream"],
            ),
            breaker_transitions=Counter(
                "resilience_breaker_transitions",
                "Circuit breaker state changes.",
                ["upstream", "endpoint", "to_state"],
            ),
            breaker_state=Gauge(
                "resilience_breaker_state",
                "Circuit breaker state: 0 closed, 1 half-open, 2 open.",
                ["upstream", "endpoint"],
                multiprocess_mode="max",
            ),
            rejected=Counter(
                "resilience_rejected",
                "Calls rejected without reaching the upstream, by reason.",
                ["upstream", "reason"],
            ),
        )
    return _metrics
