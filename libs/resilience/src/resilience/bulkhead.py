"""Bulkhead: a bounded number of concurrent calls per upstream, with a bounded wait.

Optionally adaptive (AIMD, as Netflix concurrency-limits): the limit grows by one per
good call and shrinks by 10 % on a failure or a call slower than the latency target.
"""

from __future__ import annotations

import asyncio
import math

from resilience.policy import Bulkhead


class BulkheadState:
    def __init__(self, config: Bulkhead) -> None:
        self.config = config
        self.limit = float(config.max_concurrent)
        self.in_flight = 0
        self._changed = asyncio.Condition()

    async def acquire(self, max_wait: float) -> bool:
        async with self._changed:
            if self.in_flight < math.floor(self.limit):
                self.in_flight += 1
                return True
            try:
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: self.in_flight < math.floor(self.limit)),
                    timeout=max(max_wait, 0.0),
                )
            except TimeoutError:
                return False
            self.in_flight += 1
            return True

    async def release(self, *, success: bool, duration: float) -> None:
        async with self._changed:
            self.in_flight -= 1
            if self.config.adaptive:
                if success and duration <= self.config.latency_target:
                    self.limit = min(self.limit + 1, self.config.max_concurrent)
                else:
                    self.limit = max(self.limit * 0.9, self.config.min_limit)
            self._changed.notify_all()
