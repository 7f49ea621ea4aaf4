"""The batcher's Prometheus metrics, labelled by (model, agent type).

Label values are bounded: names match a short safe alphabet and at most `max_keys`
queues exist at once; an idle key's queue is removed with every series it labels
(`remove_key`), so names clients sent once do not stay in /metrics.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import Counter, Gauge, Histogram

KEY = ["model", "agent_type"]
BATCH_BUCKETS = (1, 2, 4, 8, 16, 24, 32, 48, 64, 96, 128, 256, 512)
WAIT_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CALL_BUCKETS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0)
UTILISATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0)


@dataclass(frozen=True)
class BatcherMetrics:
    batch_size: Histogram
    batch_utilisation: Histogram
    queue_wait: Histogram
    backend_call: Histogram
    queue_length: Gauge
    inflight_batches: Gauge
    rejected: Counter
    dropped: Counter
    failed: Counter

    def remove_key(self, model: str, agent_type: str) -> None:
        """Drop every series labelled with this (model, agent type)."""
        labels = {"model": model, "agent_type": agent_type}
        for metric in (
            self.batch_size,
            self.batch_utilisation,
            self.queue_wait,
            self.backend_call,
            self.queue_length,
            self.inflight_batches,
            self.dropped,
            self.failed,
        ):
            metric.remove_by_labels(labels)


_metrics: BatcherMetrics | None = None


def batcher_metrics() -> BatcherMetrics:
    """The process's batcher metrics on the default registry, created on first use."""
    global _metrics
    if _metrics is None:
        _metrics = BatcherMetrics(
            batch_size=Histogram(
                "predictor_batch_size", "Agents per backend call.", KEY, buckets=BATCH_BUCKETS
            ),
            batch_utilisation=Histogram(
                "predictor_batch_utilisation",
                "Batch size as a fraction of the key's max_batch_size.",
                KEY,
                buckets=UTILISATION_BUCKETS,
            ),
            queue_wait=Histogram(
                "predictor_queue_wait_seconds",
                "Time from enqueue to dispatch of an agent.",
                KEY,
                buckets=WAIT_BUCKETS,
            ),
            backend_call=Histogram(
                "predictor_backend_call_duration_seconds",
                "Duration of one batched backend call.",
                [*KEY, "outcome"],
                buckets=CALL_BUCKETS,
            ),
            queue_length=Gauge("predictor_queue_length", "Agents waiting in the key's queue.", KEY),
            inflight_batches=Gauge(
                "predictor_inflight_batches", "Backend calls in flight for the key.", KEY
            ),
            rejected=Counter(
                "predictor_rejected_total",
                "Agents refused at admission (429/503), by reason.",
                ["reason"],
            ),
            dropped=Counter(
                "predictor_dropped_total",
                "Agents dropped before dispatch (cancelled, expired, shutdown), by reason.",
                [*KEY, "reason"],
            ),
            failed=Counter(
                "predictor_failed_total",
                "Agents whose batch failed, by reason.",
                [*KEY, "reason"],
            ),
        )
    return _metrics
