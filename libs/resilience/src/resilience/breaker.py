"""Circuit breaker state machine on a time-based sliding window (resilience4j semantics).

Why by hand: aiobreaker/purgatory count consecutive failures only, pybreaker has no
asyncio; none has a slow-call rate or a bounded half-open probe count.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from resilience.policy import Breaker


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


STATE_VALUE = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}


@dataclass
class _Bucket:
    index: int
    calls: int = 0
    failures: int = 0
    slow: int = 0


class CircuitBreaker:
    """One endpoint's breaker. `try_acquire()` before a call, `record()` after it."""

    def __init__(
        self,
        config: Breaker,
        *,
        clock: Callable[[], float],
        slow_after: float,
        on_transition: Callable[[BreakerState, BreakerState], None] | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.slow_after = config.slow_after if config.slow_after is not None else slow_after
        self.on_transition = on_transition
        self.state = BreakerState.CLOSED
        self._opened_at = 0.0
        self._buckets: list[_Bucket] = []
        self._probes_in_flight = 0
        self._probe_successes = 0
        self._bucket_width = config.window / max(config.buckets, 1)

    # -- permits -------------------------------------------------------------------
    def try_acquire(self) -> bool:
        """True if a call may go to this endpoint now (a half-open probe counts)."""
        if self.state is BreakerState.OPEN:
            if self.clock() - self._opened_at < self.config.open_for:
                return False
            self._transition(BreakerState.HALF_OPEN)
        if self.state is BreakerState.HALF_OPEN:
            if self._probes_in_flight >= self.config.half_open_probes:
                return False
            self._probes_in_flight += 1
            return True
        return True

    def release(self) -> None:
        """Give back a permit whose call never happened (cancelled before sending)."""
        if self.state is BreakerState.HALF_OPEN and self._probes_in_flight > 0:
            self._probes_in_flight -= 1

    def allows(self) -> bool:
        """Whether a call could be admitted now, without taking a permit."""
        if self.state is BreakerState.CLOSED:
            return True
        if self.state is BreakerState.OPEN:
            return self.clock() - self._opened_at >= self.config.open_for
        return self._probes_in_flight < self.config.half_open_probes

    # -- outcomes ------------------------------------------------------------------
    def record(self, *, success: bool, duration: float) -> None:
        slow = duration >= self.slow_after
        if self.state is BreakerState.HALF_OPEN:
            self._probes_in_flight = max(self._probes_in_flight - 1, 0)
            if not success or slow:
                self._open()
                return
            self._probe_successes += 1
            if self._probe_successes >= self.config.half_open_probes:
                self._buckets.clear()
                self._transition(BreakerState.CLOSED)
            return
        if self.state is BreakerState.OPEN:
            return  # a straggler from before the breaker opened
        bucket = self._current_bucket()
        bucket.calls += 1
        bucket.failures += 0 if success else 1
        bucket.slow += 1 if slow else 0
        self._evaluate()

    def _current_bucket(self) -> _Bucket:
        index = math.floor(self.clock() / self._bucket_width)
        oldest = index - self.config.buckets + 1
        self._buckets = [b for b in self._buckets if b.index >= oldest]
        if not self._buckets or self._buckets[-1].index != index:
            self._buckets.append(_Bucket(index))
        return self._buckets[-1]

    def _evaluate(self) -> None:
        calls = sum(b.calls for b in self._buckets)
        if calls < self.config.min_calls:
            return
        failures = sum(b.failures for b in self._buckets)
        slow = sum(b.slow for b in self._buckets)
        if failures / calls >= self.config.failure_rate or slow / calls >= self.config.slow_call:
            self._open()

    def _open(self) -> None:
        self._opened_at = self.clock()
        self._probes_in_flight = 0
        self._probe_successes = 0
        self._transition(BreakerState.OPEN)

    def _transition(self, new: BreakerState) -> None:
        old, self.state = self.state, new
        if new is BreakerState.HALF_OPEN:
            self._probes_in_flight = 0
            self._probe_successes = 0
        if old is not new and self.on_transition is not None:
            self.on_transition(old, new)
