"""`Guard`: the same deadline / retry-budget / breaker / bulkhead pipeline for any
async callable — AWS SDK calls, database queries — where there is no HTTP endpoint
to balance over.
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

from observability import deadlines
from resilience.breaker import STATE_VALUE, BreakerState, CircuitBreaker
from resilience.budget import RetryBudgetState
from resilience.bulkhead import BulkheadState
from resilience.errors import (
    BulkheadFullError,
    CircuitOpenError,
    DeadlineExceededError,
    UpstreamUnavailableError,
)
from resilience.metrics import client_metrics
from resilience.policy import Policy

T = TypeVar("T")
MIN_ATTEMPT_S = 0.005


class Guard:
    """Run async callables for one dependency under a `Policy`.

    Retried (when `idempotent=True`, the default for a guard) on `TimeoutError` and on
    the exception types in `policy.retry.retry_on_exceptions`; any other exception
    propagates at once and does not count against the breaker. Ends with the same
    errors as `ResilientClient` (`UpstreamUnavailableError.__cause__` is the last error).
    """

    def __init__(
        self,
        name: str,
        *,
        policy: Policy | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.name = name
        self.policy = policy or Policy(hedge=None)
        self.clock = clock
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._metrics = client_metrics()
        self._budget = RetryBudgetState(self.policy.retry.budget, clock)
        self._bulkhead = BulkheadState(self.policy.bulkhead) if self.policy.bulkhead else None
        self.breaker: CircuitBreaker | None = None
        if self.policy.breaker is not None:
            gauge = self._metrics.breaker_state.labels(name, "-")
            gauge.set(0)

            def on_transition(_old: BreakerState, new: BreakerState) -> None:
                self._metrics.breaker_transitions.labels(name, "-", new.value).inc()
                gauge.set(STATE_VALUE[new])

            self.breaker = CircuitBreaker(
                self.policy.breaker,
                clock=clock,
                slow_after=self.policy.timeout.per_try,
                on_transition=on_transition,
            )

    def ready(self) -> bool:
        return self.breaker is None or self.breaker.allows()

    async def call(self, operation: Callable[[], Awaitable[T]], *, idempotent: bool = True) -> T:
        inbound = deadlines.remaining()
        total = self.policy.timeout.total
        total = total if inbound is None else min(total, inbound)
        deadline = self.clock() + total
        if total <= MIN_ATTEMPT_S:
            raise DeadlineExceededError(self.name, "the deadline had passed before the call")
        self._budget.record_request()
        if self._bulkhead is not None and not await self._bulkhead.acquire(
            min(self._bulkhead.config.max_wait, total)
        ):
            self._metrics.rejected.labels(self.name, "bulkhead_full").inc()
            raise BulkheadFullError(self.name, "too many calls in flight")
        started, success = self.clock(), False
        try:
            result = await self._with_retries(operation, idempotent, deadline)
            success = True
            return result
        finally:
            if self._bulkhead is not None:
                await self._bulkhead.release(success=success, duration=self.clock() - started)

    async def _with_retries(
        self, operation: Callable[[], Awaitable[T]], idempotent: bool, deadline: float
    ) -> T:
        retry = self.policy.retry
        retryable = (TimeoutError, *retry.retry_on_exceptions)
        last: BaseException | None = None
        for try_index in range(retry.attempts):
            if try_index > 0:
                if not idempotent:
                    break
                if not self._budget.try_retry():
                    self._metrics.budget_exhausted.labels(self.name).inc()
                    raise UpstreamUnavailableError(
                        self.name, "retry budget exhausted", budget_exhausted=True
                    ) from last
                delay = retry.backoff.delay(try_index, self.rng)
                if self.clock() + delay > deadline - MIN_ATTEMPT_S:
                    raise DeadlineExceededError(self.name, "no time left for another try") from last
                await anyio.sleep(delay)
            left = deadline - self.clock()
            if left <= MIN_ATTEMPT_S:
                raise DeadlineExceededError(self.name, "the deadline passed") from last
            if self.breaker is not None and not self.breaker.try_acquire():
                self._metrics.rejected.labels(self.name, "circuit_open").inc()
                raise CircuitOpenError(self.name, "circuit breaker is open") from last
            kind = "original" if try_index == 0 else "retry"
            self._metrics.attempts.labels(self.name, kind).inc()
            started = self.clock()
            try:
                with anyio.fail_after(min(self.policy.timeout.per_try, left)):
                    result = await operation()
            except retryable as error:
                if self.breaker is not None:
                    self.breaker.record(success=False, duration=self.clock() - started)
                last = error
                continue
            except BaseException:
                if self.breaker is not None:
                    self.breaker.release()
                raise
            if self.breaker is not None:
                self.breaker.record(success=True, duration=self.clock() - started)
            return result
        raise UpstreamUnavailableError(
            self.name, f"every try failed (last: {type(last).__name__})"
        ) from last
