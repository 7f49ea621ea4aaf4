"""`Guard`: the call pipeline (`resilience.pipeline`) for any async callable — AWS SDK
calls, database queries — where there is no HTTP endpoint to balance over.
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

from resilience.errors import UpstreamUnavailableError
from resilience.pipeline import MIN_ATTEMPT_S, CallPipeline, Fallback
from resilience.policy import Policy

T = TypeVar("T")


class Guard:
    """Run async callables for one dependency under a `Policy`.

    Retried (when `idempotent=True`, the default for a guard) on `TimeoutError` and on
    the exception types in `policy.retry.retry_on_exceptions`, after full-jitter
    backoff and at least the error's `retry_after` seconds if it has one (as
    `Retry-After`, up to `Retry.max_retry_after`); any other exception propagates at
    once and does not count against the breaker. Ends with the same errors, counted in
    the same metrics, as `ResilientClient` (`UpstreamUnavailableError.__cause__` is the
    last error); a `fallback` turns any of them into a result.
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
        self._pipeline = CallPipeline(
            name,
            self.policy,
            clock=clock,
            rng=rng or random.Random(),  # noqa: S311 - jitter, not cryptography
        )
        self.breaker = self._pipeline.breaker("-")

    def ready(self) -> bool:
        return self.breaker is None or self.breaker.allows()

    async def call(
        self,
        operation: Callable[[], Awaitable[T]],
        *,
        idempotent: bool = True,
        fallback: Fallback[T] | None = None,
    ) -> T:
        async def attempts(deadline: float) -> T:
            return await self._with_retries(operation, idempotent, deadline)

        return await self._pipeline.run(attempts, fallback=fallback)

    async def _with_retries(
        self, operation: Callable[[], Awaitable[T]], idempotent: bool, deadline: float
    ) -> T:
        pipeline, retry = self._pipeline, self.policy.retry
        retryable = (TimeoutError, *retry.retry_on_exceptions)
        last: BaseException | None = None
        for try_index in range(retry.attempts):
            if try_index > 0:
                if not idempotent:
                    break
                retry_at = pipeline.retry_at(try_index, getattr(last, "retry_after", None))
                if retry_at is None:
                    raise UpstreamUnavailableError(
                        self.name, "retry budget exhausted", budget_exhausted=True
                    ) from last
                if retry_at > deadline - MIN_ATTEMPT_S:
                    raise pipeline.deadline_exceeded("no time left for another try") from last
                await anyio.sleep(max(retry_at - self.clock(), 0.0))
            left = deadline - self.clock()
            if left <= MIN_ATTEMPT_S:
                raise pipeline.deadline_exceeded("the deadline passed") from last
            if self.breaker is not None and not self.breaker.try_acquire():
                raise pipeline.circuit_open("circuit breaker is open") from last
            kind = "original" if try_index == 0 else "retry"
            pipeline.metrics.attempts.labels(self.name, kind).inc()
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
