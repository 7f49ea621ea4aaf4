"""Retry budget state: a sliding window of request and retry counts per upstream.

Why by hand: tenacity/stamina have no budgets, and Finagle's token bucket cannot be
checked against the guarantee we promise. This keeps time buckets and decides
conservatively: requests are counted only in buckets wholly inside the window, retries
in every bucket that touches it, so over ANY window of `window_s` seconds the retries
granted never exceed `ratio * requests + min_per_s * window_s`.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable

from resilience.policy import RetryBudget


class RetryBudgetState:
    def __init__(self, config: RetryBudget, clock: Callable[[], float], resolution: float = 0.1):
        self.config = config
        self.clock = clock
        self.resolution = resolution
        # (bucket index, requests, retries), oldest first
        self._buckets: deque[list[int]] = deque()

    def _bucket(self, now: float) -> list[int]:
        index = math.floor(now / self.resolution)
        if not self._buckets or self._buckets[-1][0] != index:
            self._buckets.append([index, 0, 0])
        horizon = index - math.ceil(self.config.window_s / self.resolution) - 1
        while self._buckets and self._buckets[0][0] < horizon:
            self._buckets.popleft()
        return self._buckets[-1]

    def record_request(self) -> None:
        self._bucket(self.clock())[1] += 1

    def try_retry(self) -> bool:
        """Withdraw one retry if the budget allows it (and count it)."""
        now = self.clock()
        current = self._bucket(now)
        window_start = now - self.config.window_s
        first_full = math.ceil(window_start / self.resolution)
        requests = sum(b[1] for b in self._buckets if b[0] >= first_full)
        retries = sum(b[2] for b in self._buckets if (b[0] + 1) * self.resolution > window_start)
        allowed = self.config.ratio * requests + self.config.min_per_s * self.config.window_s
        if retries + 1 > allowed:
            return False
        current[2] += 1
        return True
