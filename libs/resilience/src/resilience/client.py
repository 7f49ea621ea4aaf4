"""`ResilientClient`: every outbound HTTP call of the platform goes through one.

Per logical call: deadline (policy total, narrowed by the inbound deadline) → bulkhead
→ attempts, each on an endpoint that the balancer picks among those whose breaker
admits it and whose concurrency limit has room (waiting at the client, earliest
deadline first, while none has) → retries within the retry budget (full-jitter
backoff, `Retry-After` honoured) and, for idempotent calls, a hedge to another free
endpoint after the tracked p90.

No attempt is cancelled because a later one started or because the call is over: the
upstream would go on working on it anyway, and only its answer shows that its endpoint
is free again (Envoy `hedge_on_per_try_timeout`; "Metastable Failures in Distributed
Systems", Bronson et al., HotOS 2021: work sent to a blocked server is the load that
keeps it blocked). Such attempts finish in the background, holding their endpoint's
slot, and still teach the breaker, the balancer and the limit.

Measured (`bench/gateway_vs_flaky.py`, one run): the gateway over three serialized
replicas of the original remote answers 300/300 calls at c = 2, 4, 8 with a p99 of
0.97x, 0.99x and 0.99x that of HAProxy (`leastconn`, `maxconn 1`, queue, L7 retries) in
front of the same replicas, at 1.16-1.18 upstream requests per call (2026-12-02; a
later run on a slower machine: 0.94x, 0.99x, 0.82x); before this design it answered
0-41 of 300.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx
from opentelemetry import trace

from resilience import deadlines
from resilience.balancer import Ask, Balancer, EndpointStats, NoEndpointError
from resilience.breaker import CircuitBreaker
from resilience.errors import DeadlineExceededError, UpstreamUnavailableError
from resilience.latency import LatencyTracker
from resilience.pipeline import MIN_ATTEMPT_S, CallPipeline, Fallback
from resilience.policy import IDEMPOTENT_METHODS, Hedge, Policy

# The marker an upstream sets on a 5xx its caller's request caused (a poisoned input, a
# corrupt object): such an answer is returned as is, never retried, never counted
# against the endpoint, so one caller cannot open a breaker for every other.
REQUEST_FAULT_HEADER = "X-Failure-Cause"
REQUEST_FAULT = "request"
_tracer = trace.get_tracer("resilience")


@dataclass
class _CallState:
    answered: bool = False  # an attempt got a final answer: queued ones are not needed


@dataclass
class _Running:
    """An attempt of the current call that has not ended."""

    endpoint: EndpointStats
    sent_at: float
    late: bool = False  # past the per-try timeout: counted as a failed try, still running


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
    non-retryable status (2xx, 3xx, 4xx but 429, 5xx not listed in
    `Retry.retry_on_status`, and any 5xx marked `X-Failure-Cause: request`); it raises
    `UpstreamUnavailableError` when every allowed attempt failed, `CircuitOpenError`
    when every endpoint's breaker is open, `DeadlineExceededError` when the deadline ran
    out, `BulkheadFullError` when too many calls are in flight. A `fallback` turns any of
    those into a response. Only no answer or an unmarked 5xx counts against an endpoint
    (breaker, ejection): a 4xx, 429 included, is the caller's.
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
        timeout = self.policy.timeout
        self._http = httpx.AsyncClient(
            transport=transport,
            headers=dict(headers or {}),
            # Attempts are not cut at the per-try timeout (see the module docstring).
            timeout=httpx.Timeout(timeout.abandon_after, connect=timeout.per_try),
            limits=httpx.Limits(
                max_connections=max_connections * 2, max_keepalive_connections=max_connections
            ),
        )
        self._balancer = Balancer(
            endpoints,
            ejection=self.policy.ejection,
            limit=self.policy.limit,
            clock=clock,
            rng=self.rng,
        )
        self._background: set[asyncio.Task[httpx.Response | _Failure]] = set()
        self._pipeline = CallPipeline(name, self.policy, clock=clock, rng=self.rng)
        self._metrics = self._pipeline.metrics
        self._breakers: dict[str, CircuitBreaker] = {}
        for endpoint in self._balancer.endpoints:
            breaker = self._pipeline.breaker(endpoint.url)
            if breaker is not None:
                self._breakers[endpoint.url] = breaker
        self._latency = LatencyTracker()
        self._addresses = {
            e.url: (urlsplit(e.url).hostname or "", str(urlsplit(e.url).port or ""))
            for e in self._balancer.endpoints
        }

    async def __aenter__(self) -> ResilientClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self, *, forget: bool = False) -> None:
        """Close the connections and cancel attempts still running in the background.

        `forget`: also drop every series labelled with this upstream's name, for a
        client made for a name that may not come back (one per requested model): kept,
        they would grow with every name ever seen.
        """
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self._http.aclose()
        if forget:
            self._metrics.forget(self.name)

    # -- introspection ------------------------------------------------------------
    def ready(self) -> bool:
        """True while at least one endpoint is not ejected."""
        return bool(self._balancer.available())

    def breaker_states(self) -> dict[str, str]:
        return {url: breaker.state.value for url, breaker in self._breakers.items()}

    def endpoint_limits(self) -> dict[str, tuple[int, int]]:
        """Per endpoint: (learned concurrency limit, attempts in flight)."""
        return {e.url: (e.limit.limit, e.limit.in_flight) for e in self._balancer.endpoints}

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
        params: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        fallback: Fallback | None = None,
        auth: httpx.Auth | None = None,
    ) -> httpx.Response:
        """One logical call; see the class docstring for outcomes.

        `auth` runs on every attempt (retries and hedges included), so a per-request
        signature is made fresh for each one rather than sent twice.
        """
        method = method.upper()
        idempotent = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        send = {
            "json": json,
            "content": content,
            "params": params,
            "headers": headers,
            "auth": auth,
        }

        async def attempts(deadline: float) -> httpx.Response:
            return await self._with_retries(method, path, idempotent, deadline, send)

        return await self._pipeline.run(
            attempts, succeeded=lambda response: not _upstream_fault(response), fallback=fallback
        )

    def _expected_latency(self) -> float:
        """The latency past which an attempt is late: hedge delay, and "stuck" for limits."""
        hedge = self.policy.hedge or Hedge()
        if hedge.delay is not None:
            return hedge.delay
        observed = self._latency.quantile(hedge.quantile)
        if observed is None:
            return self.policy.timeout.per_try if self.policy.hedge is None else hedge.min_delay
        return max(observed, hedge.min_delay)

    def _stuck_after(self) -> float:
        return 2 * self._expected_latency()

    def _take(self, endpoint: EndpointStats) -> bool:
        breaker = self._breakers.get(endpoint.url)
        return breaker is None or breaker.try_acquire()

    async def _with_retries(
        self, method: str, path: str, idempotent: bool, deadline: float, send: dict[str, Any]
    ) -> httpx.Response:
        """Race attempts until one answers: the original, retries after failures or
        per-try timeouts, and a hedge when the latest attempt is late."""
        retry, policy = self.policy.retry, self.policy
        hedges_left = policy.hedge.max_hedges if (policy.hedge and idempotent) else 0
        retries_left = retry.attempts - 1 if idempotent else 0
        running: dict[asyncio.Task[httpx.Response | _Failure], _Running] = {}
        tried: set[str] = set()
        last: _Failure | None = None
        acquiring: asyncio.Task[tuple[EndpointStats, int] | None] | None = None
        acquiring_kind = "original"
        retry_at: float | None = None
        exhausted = False
        call = _CallState()

        def plan_retry(failure: _Failure) -> None:
            """After a failed or late try: the next retry's start, within the budget."""
            nonlocal retry_at, exhausted, retries_left
            if retries_left > 0 and retry_at is None and acquiring is None:
                retry_at = self._pipeline.retry_at(
                    retry.attempts - retries_left, failure.retry_after
                )
                exhausted = retry_at is None
                retries_left = 0 if exhausted else retries_left - 1

        def queued_out() -> DeadlineExceededError:
            self._metrics.rejected.labels(self.name, "queued").inc()
            return DeadlineExceededError(
                self.name, "every endpoint was busy until the deadline (queued)"
            )

        def launch(taken: tuple[EndpointStats, int]) -> None:
            endpoint, slot = taken
            tried.add(endpoint.url)
            resend = len(tried) - 1
            attempt = asyncio.ensure_future(
                self._attempt(
                    endpoint, slot, method, path, deadline, send, acquiring_kind, resend, call
                )
            )
            running[attempt] = _Running(endpoint, self.clock())

        def start_acquire(kind: str) -> asyncio.Task[tuple[EndpointStats, int] | None] | None:
            """The attempt sent at once when an endpoint is free and nobody queues (None),
            else the task that queues for one."""
            nonlocal acquiring_kind
            acquiring_kind = kind
            ask = Ask(
                exclude={r.endpoint.url for r in running.values()},
                avoid=tried,
                admit=self._admits,
                take=self._take,
                stuck_after=self._stuck_after,
            )
            taken = self._balancer.take_uncontended(ask)
            if taken is not None:
                launch(taken)
                return None
            return asyncio.ensure_future(
                self._balancer.acquire(
                    ask, deadline=deadline - MIN_ATTEMPT_S, wanted=lambda: not call.answered
                )
            )

        try:
            acquiring = start_acquire("original")
            while True:
                now = self.clock()
                if deadline - now <= MIN_ATTEMPT_S:
                    if not running and acquiring is not None:
                        raise queued_out()
                    raise self._pipeline.deadline_exceeded("the deadline passed")
                if acquiring is None and retry_at is not None and now >= retry_at:
                    retry_at = None
                    acquiring = start_acquire("retry")
                hedge_at = None  # when the latest attempt is late enough for a hedge
                if acquiring is None and hedges_left > 0 and running:
                    latest = max(r.sent_at for r in running.values())
                    hedge_at = latest + self._expected_latency()
                if hedge_at is not None and now >= hedge_at:
                    hedges_left -= 1
                    if self._pipeline.budget.try_retry():
                        acquiring = start_acquire("hedge")
                        if acquiring is None:
                            hedge_at = None  # sent: the next is timed from this one
                    else:
                        self._metrics.budget_exhausted.labels(self.name).inc()
                timers = [deadline - MIN_ATTEMPT_S]
                if retry_at is not None:
                    timers.append(retry_at)
                if hedge_at is not None and acquiring is None and hedges_left > 0:
                    timers.append(hedge_at)
                per_try = policy.timeout.per_try
                timers += [r.sent_at + per_try for r in running.values() if not r.late]
                waiting: set[asyncio.Future[Any]] = set(running)
                if acquiring is not None:
                    waiting.add(acquiring)
                if not waiting and retry_at is None:
                    raise _unavailable(self.name, last)
                timeout = max(min(timers) - self.clock(), 0.0)
                done: set[asyncio.Future[Any]] = set()
                if waiting:
                    done, _ = await asyncio.wait(
                        waiting, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                    )
                else:  # only a retry's backoff to wait for
                    await asyncio.sleep(timeout)
                if acquiring is not None and acquiring in done:
                    task, acquiring = acquiring, None
                    try:
                        taken = task.result()
                    except NoEndpointError as error:
                        if running or retry_at is not None:
                            continue
                        if error.breakers_open:
                            raise self._pipeline.circuit_open(
                                "every endpoint's circuit breaker is open"
                            ) from None
                        raise _unavailable(self.name, last) from None
                    if taken is None and not running:
                        raise queued_out()
                    if taken is not None:
                        launch(taken)
                for task in [t for t in running if t in done]:
                    del running[task]
                    outcome = task.result()
                    if isinstance(outcome, httpx.Response):
                        return outcome
                    last = outcome
                    plan_retry(outcome)
                for running_attempt in running.values():
                    late = self.clock() - running_attempt.sent_at >= policy.timeout.per_try
                    if late and not running_attempt.late:
                        running_attempt.late = True
                        last = _Failure("timeout")
                        # A retry only when every attempt of the call is late: one still
                        # within its per-try time (a hedge) may yet answer.
                        if all(r.late for r in running.values()):
                            plan_retry(last)
                if not running and acquiring is None and retry_at is None:
                    raise _unavailable(self.name, last, budget_exhausted=exhausted)
        finally:
            if acquiring is not None:
                acquiring.cancel()
                acquiring.add_done_callback(self._release_unused)
            for task in running:  # nobody waits for them any more: finish in the background
                self._background.add(task)
                task.add_done_callback(self._background.discard)

    def _release_unused(self, task: asyncio.Task[tuple[EndpointStats, int] | None]) -> None:
        """A slot taken for an attempt that was never sent (the call ended first)."""
        if task.cancelled() or task.exception() is not None:
            return
        taken = task.result()
        if taken is not None:
            endpoint, slot = taken
            breaker = self._breakers.get(endpoint.url)
            if breaker is not None:
                breaker.release()
            endpoint.limit.done(slot, self.clock(), answered=False, stuck_after=0.0)
            self._balancer.wake()

    def _admits(self, endpoint: EndpointStats) -> bool:
        breaker = self._breakers.get(endpoint.url)
        return breaker is None or breaker.allows()

    async def _attempt(
        self,
        endpoint: EndpointStats,
        slot: int,
        method: str,
        path: str,
        deadline: float,
        send: dict[str, Any],
        kind: str,
        resend_count: int,
        call: _CallState,
    ) -> httpx.Response | _Failure:
        breaker = self._breakers.get(endpoint.url)
        headers = dict(send.get("headers") or {})
        headers[deadlines.DEADLINE_HEADER] = deadlines.header_value(deadline - self.clock())
        address, port = self._addresses[endpoint.url]
        self._metrics.attempts.labels(self.name, kind).inc()
        started = self.clock()
        outcome: httpx.Response | _Failure = _Failure("cancelled")
        answered = False
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
                    with anyio.fail_after(self.policy.timeout.abandon_after):
                        response = await self._http.request(
                            method,
                            endpoint.url + path,
                            json=send.get("json"),
                            content=send.get("content"),
                            params=send.get("params"),
                            headers=headers,
                            auth=send.get("auth") or httpx.USE_CLIENT_DEFAULT,
                        )
                    answered = True
                    outcome = self._classify(response)
                    # Before the slot is handed on (below): the call's own queued retry
                    # or hedge must not take it.
                    call.answered = call.answered or isinstance(outcome, httpx.Response)
                except (TimeoutError, httpx.TimeoutException):
                    outcome = _Failure("timeout")
                except httpx.HTTPError as error:  # transport, decoding, protocol errors
                    outcome = _Failure(type(error).__name__)
            elapsed = self.clock() - started
            failed = _upstream_fault(outcome)
            if breaker is not None:
                breaker.record(success=not failed, duration=elapsed)
            shed = isinstance(outcome, _Failure) and outcome.status_code == 429
            self._balancer.observe(endpoint, latency=elapsed, failure=failed, shed=shed)
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
            # Also when cancelled (the client closed): the slot is given back either way.
            cancelled = isinstance(outcome, _Failure) and outcome.error_type == "cancelled"
            if cancelled and breaker is not None:
                breaker.release()
            endpoint.limit.done(
                slot, self.clock(), answered=answered, stuck_after=self._stuck_after()
            )
            self._balancer.wake()

    def _classify(self, response: httpx.Response) -> httpx.Response | _Failure:
        if _caused_by_request(response):
            return response
        if response.status_code in self.policy.retry.retry_on_status:
            return _Failure(
                f"http_{response.status_code}",
                status_code=response.status_code,
                response=response,
                retry_after=parse_retry_after(response.headers.get("retry-after")),
            )
        return response


def _caused_by_request(response: httpx.Response) -> bool:
    return response.headers.get(REQUEST_FAULT_HEADER, "").strip().lower() == REQUEST_FAULT


def _upstream_fault(outcome: httpx.Response | _Failure) -> bool:
    """Whether an outcome counts against the endpoint (breaker, ejection, bulkhead): no
    answer, or a 5xx not marked as caused by the request. Never a 4xx, 429 included
    (often the caller's own rate limit): it is retried, but it is the caller's."""
    response = outcome.response if isinstance(outcome, _Failure) else outcome
    if response is None:
        return True
    return response.status_code >= 500 and not _caused_by_request(response)


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
