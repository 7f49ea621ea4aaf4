"""The one call pipeline every outbound call goes through, whatever it calls.

deadline (the policy's total, narrowed by the inbound deadline) → retry budget (each
call earns retries) → bulkhead (bounded concurrency, bounded wait) → the attempts →
the call's duration and outcome in `resilience_call_duration_seconds`, with a fallback
turning any `ResilienceError` into an answer. Between attempts, `retry_at` decides
whether a retry may go at all (the budget) and when (full-jitter backoff, at least the
upstream's `Retry-After` up to `Retry.max_retry_after`).

`ResilientClient` (HTTP, balancing and hedging over endpoints) and `Guard` (any async
callable: an AWS SDK call, a query) both run their attempts inside `CallPipeline.run`,
so a rejection is counted, and a budget spent, the same way whichever is used.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from resilience import deadlines
from resilience.breaker import STATE_VALUE, BreakerState, CircuitBreaker
from resilience.budget import RetryBudgetState
from resilience.bulkhead import BulkheadState
from resilience.errors import (
    BulkheadFullError,
    CircuitOpenError,
    DeadlineExceededError,
    ResilienceError,
    UpstreamUnavailableError,
)
from resilience.metrics import client_metrics
from resilience.policy import Policy

T = TypeVar("T")
MIN_ATTEMPT_S = 0.005  # never start an attempt with less time than this left
Fallback = Callable[[ResilienceError], Awaitable[T]]


class CallPipeline:
    """Admission, budget, bulkhead, retry timing and call metrics for one upstream."""

    def __init__(
        self, name: str, policy: Policy, *, clock: Callable[[], float], rng: random.Random
    ) -> None:
        self.name = name
        self.policy = policy
        self.clock = clock
        self.rng = rng
        self.metrics = client_metrics()
        self.budget = RetryBudgetState(policy.retry.budget, clock)
        self.bulkhead = BulkheadState(policy.bulkhead) if policy.bulkhead else None

    def breaker(self, endpoint: str) -> CircuitBreaker | None:
        """A breaker for one endpoint (`"-"` when there is none to name), with its
        state gauge and transition counter; None when the policy has no breaker."""
        config = self.policy.breaker
        if config is None:
            return None
        gauge = self.metrics.breaker_state.labels(self.name, endpoint)
        gauge.set(0)

        def on_transition(_old: BreakerState, new: BreakerState) -> None:
            self.metrics.breaker_transitions.labels(self.name, endpoint, new.value).inc()
            gauge.set(STATE_VALUE[new])

        return CircuitBreaker(
            config,
            clock=self.clock,
            slow_after=self.policy.timeout.per_try,
            on_transition=on_transition,
        )

    async def run(
        self,
        attempts: Callable[[float], Awaitable[T]],
        *,
        succeeded: Callable[[T], bool] = lambda _result: True,
        fallback: Fallback[T] | None = None,
    ) -> T:
        """One logical call: `attempts(deadline)` runs under admission and is measured.

        `succeeded` says whether a returned result was a success for the bulkhead's
        adaptive limit (an HTTP 5xx returned as is is not).
        """
        started = self.clock()
        outcome = "success"
        try:
            return await self._admitted(attempts, succeeded)
        except ResilienceError as error:
            outcome = _outcome(error)
            if fallback is not None:
                outcome = f"fallback_{outcome}"
                return await fallback(error)
            raise
        finally:
            self.metrics.call_duration.labels(self.name, outcome).observe(self.clock() - started)

    async def _admitted(
        self, attempts: Callable[[float], Awaitable[T]], succeeded: Callable[[T], bool]
    ) -> T:
        inbound = deadlines.remaining()
        total = self.policy.timeout.total
        total = total if inbound is None else min(total, inbound)
        if total <= MIN_ATTEMPT_S:
            raise self.deadline_exceeded("the deadline had passed before the call")
        deadline = self.clock() + total
        self.budget.record_request()
        if self.bulkhead is None:
            return await attempts(deadline)
        if not await self.bulkhead.acquire(min(self.bulkhead.config.max_wait, total)):
            self.metrics.rejected.labels(self.name, "bulkhead_full").inc()
            raise BulkheadFullError(self.name, "too many calls in flight")
        started, success = self.clock(), False
        try:
            result = await attempts(deadline)
            success = succeeded(result)
            return result
        finally:
            await self.bulkhead.release(success=success, duration=self.clock() - started)

    def retry_at(self, retry_number: int, retry_after: float | None = None) -> float | None:
        """When retry `retry_number` (1-based) may start, or None if the budget refuses."""
        if not self.budget.try_retry():
            self.metrics.budget_exhausted.labels(self.name).inc()
            return None
        retry = self.policy.retry
        delay = retry.backoff.delay(retry_number, self.rng)
        if retry_after is not None:
            delay = max(delay, min(retry_after, retry.max_retry_after))
        return self.clock() + delay

    def deadline_exceeded(self, detail: str) -> DeadlineExceededError:
        """The error for a call out of time, counted as a `deadline` rejection."""
        self.metrics.rejected.labels(self.name, "deadline").inc()
        return DeadlineExceededError(self.name, detail)

    def circuit_open(self, detail: str) -> CircuitOpenError:
        """The error for a call every breaker refused, counted as `circuit_open`."""
        self.metrics.rejected.labels(self.name, "circuit_open").inc()
        return CircuitOpenError(self.name, detail)


def _outcome(error: ResilienceError) -> str:
    return {
        CircuitOpenError: "circuit_open",
        DeadlineExceededError: "deadline_exceeded",
        BulkheadFullError: "bulkhead_full",
        UpstreamUnavailableError: "upstream_unavailable",
    }.get(type(error), "error")
