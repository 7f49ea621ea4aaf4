"""A per-upstream latency tracker for the hedging delay (a recent-window quantile)."""

from __future__ import annotations

from collections import deque


class LatencyTracker:
    """Keeps the last `size` successful latencies; `quantile(q)` over them."""

    def __init__(self, size: int = 256, min_samples: int = 20) -> None:
        self._samples: deque[float] = deque(maxlen=size)
        self.min_samples = min_samples
        self._sorted: list[float] | None = None

    def add(self, latency: float) -> None:
        self._samples.append(latency)
        self._sorted = None

    def quantile(self, q: float) -> float | None:
        if len(self._samples) < self.min_samples:
            return None
        if self._sorted is None:
            self._sorted = sorted(self._samples)
        index = min(int(q * len(self._sorted)), len(self._sorted) - 1)
        return self._sorted[index]
