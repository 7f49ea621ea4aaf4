"""`ResilientClient`: every outbound HTTP call of the platform goes through one.

Per logical call: deadline (policy total, narrowed by the inbound deadline) → bulkhead
→ retries within the retry budget (full-jitter backoff, `Retry-After` honoured) →
each attempt: load balancer picks an endpoint whose breaker admits it → attempt
timeout; idempotent calls may be hedged to a different endpoint after the tracked p95.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx
from opentelemetry import trace

from observability import deadlines
from resilience.balancer import Balancer, EndpointStats
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
from resilience.latency import LatencyTracker
from resilience.metrics import client_metrics
from resilience.policy import IDEMPOTENT_METHODS, Policy

MIN_ATTEMPT_S = 0.005  # never start an attempt with less time than this left
Fallback = Callable[[ResilienceError], Awaitable[httpx.Response]]
_tracer = trace.get_tracer("resilience")


@dataclass
class _Failure:
    """A retryable outcome of one attempt."""

    error_type: str
    status_code: int | None = None
    response: httpx.Response | None = None
    retry_after: float | None = None


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds or HTTP-date); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


class ResilientClient:
    """A typed façade over `httpx.AsyncClient` for one upstream with several endpoints.

    Use as an async context manager. `request()` returns the `httpx.Response` for any
    non-retryable status (2xx, 3xx, 4xx but 429, and 5xx not listed in
    `Retry.retry_on_status`); it raises `UpstreamUnavailableError` when every allowed
    attempt failed, `CircuitOpenError` when every endpoint's breaker is open,
    `DeadlineExceededError` when the deadline ran out, `BulkheadFullError` when too
    many calls are in flight. A `fallback` turns any of those into a response.
    """

    def __init__(
        self,
        name: str,
        endpoints: Sequence[str],
        *,
        policy: Policy | None = None,
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.name = name
        self.policy = policy or Policy()
        self.clock = clock
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        max_connections = self.policy.bulkhead.max_concurrent if self.policy.bulkhead else 100
        self._http = httpx.AsyncClient(
            transport=transport,
            headers=dict(headers or {}),
            timeout=httpx.Timeout(self.policy.timeout.per_try),  # also bounded per attempt
            limits=httpx.Limits(
                max_connections=max_connections * 2, max_keepalive_connections=max_connections
            ),
        )
        self._balancer = Balancer(
            endpoints, ejection=self.policy.ejection, clock=clock, rng=self.rng
        )
        self._metrics = client_metrics()
        self._breakers: dict[str, CircuitBreaker] = {}
        if self.policy.breaker is not None:
            for endpoint in self._balancer.endpoints:
                self._breakers[endpoint.url] = self._make_breaker(endpoint.url)
        self._budget = RetryBudgetState(self.policy.retry.budget, clock)
        self._bulkhead = BulkheadState(self.policy.bulkhead) if self.policy.bulkhead else None
        self._latency = LatencyTracker()
        self._addresses = {
            e.url: (urlsplit(e.url).hostname or "", str(urlsplit(e.url).port or ""))
            for e in self._balancer.endpoints
        }

    def _make_breaker(self, url: str) -> CircuitBreaker:
        assert self.policy.breaker is not None
        gauge = self._metrics.breaker_state.labels(self.name, url)
        gauge.set(0)

        def on_transition(_old: BreakerState, new: BreakerState) -> None:
            self._metrics.breaker_transitions.labels(self.name, url, new.value).inc()
            gauge.set(STATE_VALUE[new])

        return CircuitBreaker(
            self.policy.breaker,
            clock=self.clock,
            slow_after=self.policy.timeout.per_try,
            on_transition=on_transition,
        )

    async def __aenter__(self) -> ResilientClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- introspection ------------------------------------------------------------
    def ready(self) -> bool:
        """True while at least one endpoint is not ejected."""
        return bool(self._balancer.available())

    def breaker_states(self) -> dict[str, str]:
        return {url: breaker.state.value for url, breaker in self._breakers.items()}

    # -- calls --------------------------------------------------------------------
    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", path, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("PUT", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("DELETE", path, **kwargs)

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        fallback: Fallback | None = None,
    ) -> httpx.Response:
        """One logical call; see the class docstring for outcomes."""
        started = self.clock()
        outcome = "success"
        try:
            return await self._call(
                method.upper(),
                path,
                json=json,
                content=content,
                params=params,
                headers=headers,
                idempotent=idempotent,
            )
        except ResilienceError as error:
            outcome = _outcome(error)
            if fallback is not None:
                outcome = f"fallback_{outcome}"
                return await fallback(error)
            raise
        finally:
            self._metrics.call_duration.labels(self.name, outcome).observe(self.clock() - started)

    async def _call(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool | None,
        **send: Any,
    ) -> httpx.Response:
        idempotent = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        inbound = deadlines.remaining()
        total = (
            self.policy.timeout.total
            if inbound is None
            else min(self.policy.timeout.total, inbound)
        )
        deadline = self.clock() + total
        if total <= MIN_ATTEMPT_S:
            self._metrics.rejected.labels(self.name, "deadline").inc()
            raise DeadlineExceededError(self.name, "the deadline had passed before the call")
        self._budget.record_request()
        if self._bulkhead is not None:
            wait = min(self._bulkhead.config.max_wait, total)
            if not await self._bulkhead.acquire(wait):
                self._metrics.rejected.labels(self.name, "bulkhead_full").inc()
                raise BulkheadFullError(self.name, "too many calls in flight")
        started, success = self.clock(), False
        try:
            response = await self._with_retries(method, path, idempotent, deadline, send)
            success = response.status_code < 500
            return response
        finally:
            if self._bulkhead is not None:
                await self._bulkhead.release(success=success, duration=self.clock() - started)

    async def _with_retries(
        self, method: str, path: str, idempotent: bool, deadline: float, send: dict[str, Any]
    ) -> httpx.Response:
        retry = self.policy.retry
        last: _Failure | None = None
        for try_index in range(retry.attempts):
            if try_index > 0:
                if not idempotent:
                    break
                if not self._budget.try_retry():
                    self._metrics.budget_exhausted.labels(self.name).inc()
                    raise _unavailable(self.name, last, budget_exhausted=True)
                delay = retry.backoff.delay(try_index, self.rng)
                if last is not None and last.retry_after is not None:
                    delay = max(delay, min(last.retry_after, retry.max_retry_after))
                if self.clock() + delay > deadline - MIN_ATTEMPT_S:
                    self._metrics.rejected.labels(self.name, "deadline").inc()
                    raise DeadlineExceededError(self.name, "no time left for another attempt")
                await anyio.sleep(delay)
            if deadline - self.clock() <= MIN_ATTEMPT_S:
                self._metrics.rejected.labels(self.name, "deadline").inc()
                raise DeadlineExceededError(self.name, "the deadline passed")
            result = await self._attempt_round(method, path, idempotent, deadline, send, try_index)
            if isinstance(result, httpx.Response):
                return result
            last = result
        raise _unavailable(self.name, last)

    def _pick(self, exclude: set[str]) -> EndpointStats:
        for _ in range(len(self._balancer.endpoints)):
            endpoint = self._balancer.pick(exclude=exclude, admit=self._admits)
            if endpoint is None:
                break
            breaker = self._breakers.get(endpoint.url)
            if breaker is None or breaker.try_acquire():
                return endpoint
            exclude = exclude | {endpoint.url}
        self._metrics.rejected.labels(self.name, "circuit_open").inc()
        raise CircuitOpenError(self.name, "every endpoint's circuit breaker is open")

    def _admits(self, endpoint: EndpointStats) -> bool:
        breaker = self._breakers.get(endpoint.url)
        return breaker is None or breaker.allows()

    async def _attempt_round(
        self,
        method: str,
        path: str,
        idempotent: bool,
        deadline: float,
        send: dict[str, Any],
        try_index: int,
    ) -> httpx.Response | _Failure:
        first = self._pick(set())
        kind = "original" if try_index == 0 else "retry"
        hedge = self.policy.hedge
        can_hedge = (
            idempotent
            and hedge is not None
            and hedge.max_hedges > 0
            and len(self._balancer.available({first.url})) > 0
        )
        if not can_hedge:
            return await self._attempt(first, method, path, deadline, send, kind, try_index)
        assert hedge is not None
        delay = hedge.delay
        if delay is None:
            delay = max(self._latency.quantile(0.95) or hedge.min_delay, hedge.min_delay)

        results: list[httpx.Response | _Failure] = []
        done = anyio.Event()
        used = {first.url}
        running = 0

        async with anyio.create_task_group() as group:

            async def run(endpoint: EndpointStats, attempt_kind: str, resend: int) -> None:
                nonlocal running
                try:
                    outcome = await self._attempt(
                        endpoint, method, path, deadline, send, attempt_kind, resend
                    )
                finally:
                    running -= 1
                results.append(outcome)
                if isinstance(outcome, httpx.Response) or running == 0:
                    done.set()

            running += 1
            group.start_soon(run, first, kind, try_index)
            with anyio.move_on_after(delay):
                await done.wait()
            if not done.is_set() and deadline - self.clock() > MIN_ATTEMPT_S:
                hedged = self._hedge_target(used)
                if hedged is not None:
                    used.add(hedged.url)
                    running += 1
                    group.start_soon(run, hedged, "hedge", try_index + 1)
            await done.wait()
            group.cancel_scope.cancel()
        for outcome in results:
            if isinstance(outcome, httpx.Response):
                return outcome
        return results[-1]

    def _hedge_target(self, used: set[str]) -> EndpointStats | None:
        if not self._budget.try_retry():
            self._metrics.budget_exhausted.labels(self.name).inc()
            return None
        try:
            return self._pick(used)
        except CircuitOpenError:
            return None

    async def _attempt(
        self,
        endpoint: EndpointStats,
        method: str,
        path: str,
        deadline: float,
        send: dict[str, Any],
        kind: str,
        resend_count: int,
    ) -> httpx.Response | _Failure:
        breaker = self._breakers.get(endpoint.url)
        per_try = min(self.policy.timeout.per_try, deadline - self.clock())
        headers = dict(send.get("headers") or {})
        headers[deadlines.DEADLINE_HEADER] = deadlines.header_value(deadline - self.clock())
        address, port = self._addresses[endpoint.url]
        self._metrics.attempts.labels(self.name, kind).inc()
        endpoint.outstanding += 1
        started = self.clock()
        outcome: httpx.Response | _Failure
        recorded = False
        attributes = {
            "http.request.method": method,
            "server.address": address,
            "resilience.upstream": self.name,
            "resilience.attempt_kind": kind,
            "http.request.resend_count": resend_count,
        }
        try:
            with _tracer.start_as_current_span("resilience.attempt", attributes=attributes):
                try:
                    with anyio.fail_after(per_try):
                        response = await self._http.request(
                            method,
                            endpoint.url + path,
                            json=send.get("json"),
                            content=send.get("content"),
                            params=send.get("params"),
                            headers=headers,
                        )
                    outcome = self._classify(response)
                except TimeoutError:
                    outcome = _Failure("timeout")
                except httpx.TimeoutException:
                    outcome = _Failure("timeout")
                except httpx.TransportError as error:
                    outcome = _Failure(type(error).__name__)
            elapsed = self.clock() - started
            failed = isinstance(outcome, _Failure) or outcome.status_code >= 500
            if breaker is not None:
                breaker.record(success=not failed, duration=elapsed)
            recorded = True
            self._balancer.observe(endpoint, latency=elapsed, failure=failed)
            if not failed:
                self._latency.add(elapsed)
            status = (
                outcome.status_code
                if isinstance(outcome, httpx.Response)
                else (outcome.status_code or "")
            )
            error_type = outcome.error_type if isinstance(outcome, _Failure) else ""
            self._metrics.attempt_duration.labels(
                method, address, port, str(status), error_type
            ).observe(elapsed)
            return outcome
        finally:
            endpoint.outstanding -= 1
            if not recorded:
                # Cancelled (it lost to a hedge): no outcome for the breaker, but the
                # balancer learns it was at least this slow, or it would keep picking it.
                if breaker is not None:
                    breaker.release()
                self._balancer.observe(endpoint, latency=self.clock() - started, failure=False)

    def _classify(self, response: httpx.Response) -> httpx.Response | _Failure:
        if response.status_code in self.policy.retry.retry_on_status:
            return _Failure(
                f"http_{response.status_code}",
                status_code=response.status_code,
                response=response,
                retry_after=parse_retry_after(response.headers.get("retry-after")),
            )
        return response


def _unavailable(
    upstream: str, last: _Failure | None, *, budget_exhausted: bool = False
) -> UpstreamUnavailableError:
    detail = "retry budget exhausted" if budget_exhausted else "every attempt failed"
    if last is not None:
        detail += f" (last: {last.error_type})"
    return UpstreamUnavailableError(
        upstream,
        detail,
        status_code=last.status_code if last else None,
        response=last.response if last else None,
        budget_exhausted=budget_exhausted,
    )


def _outcome(error: ResilienceError) -> str:
    return {
        CircuitOpenError: "circuit_open",
        DeadlineExceededError: "deadline_exceeded",
        BulkheadFullError: "bulkhead_full",
        UpstreamUnavailableError: "upstream_unavailable",
    }.get(type(error), "error")
