"""Policy configuration: frozen dataclasses with safe defaults and their anchors.

Pipeline order follows .NET's standard resilience handler (Polly v8): total timeout →
retry (with budget, hedging) → circuit breaker → attempt timeout, with a bulkhead
around the whole call and load balancing choosing each attempt's endpoint. Each
endpoint has a concurrency limit learned from its answers (`ConcurrencyLimit`); an
attempt that would exceed every limit waits at the client, within its deadline.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})


@dataclass(frozen=True)
class Timeout:
    """Deadline of the logical call (`total`) and of each attempt (`per_try`).

    Defaults 0.8 s per try / 2.5 s total (gRPC and Envoy practice: a per-try timeout
    well under the total leaves room for a retry). An inbound deadline
    (`X-Request-Deadline-Ms`) narrows `total`, never widens it.

    A per-try timeout starts another attempt but does not cancel the late one (Envoy's
    `hedge_on_per_try_timeout`): an upstream keeps working on a request whose client
    hung up, so cancelling would only hide that the endpoint is still busy. An attempt
    nobody waits for any more stays in flight, holding its endpoint's slot, until it
    answers or `abandon_after` (default 60 s) passes.
    """

    per_try: float = 0.8
    total: float = 2.5
    abandon_after: float = 60.0

    def __post_init__(self) -> None:
        if not 0 < self.per_try <= self.total:
            raise ValueError("need 0 < per_try <= total")
        if self.abandon_after < self.total:
            raise ValueError("abandon_after must be >= total")


@dataclass(frozen=True)
class FullJitter:
    """Exponential backoff with full jitter (AWS Architecture Blog, 2015).

    Delay before retry n (1-based) is uniform in [0, min(cap, base * 2**(n-1))].
    Defaults: base 50 ms, cap 1 s.
    """

    base: float = 0.05
    cap: float = 1.0

    def __post_init__(self) -> None:
        if self.base < 0 or self.cap < 0:
            raise ValueError("backoff base and cap must be non-negative")

    def delay(self, retry_number: int, rng: random.Random) -> float:
        exponent = min(max(retry_number - 1, 0), 62)
        return rng.uniform(0.0, min(self.cap, self.base * (2.0**exponent)))


@dataclass(frozen=True)
class RetryBudget:
    """Retries allowed per upstream: at most `ratio` x requests + `min_per_s` x `window_s`
    over any `window_s` (Finagle/Linkerd retry budgets; gRPC retry throttling).

    Defaults 20 % of requests + 10 retries/s over 10 s, so an outage never multiplies
    the load on an upstream by more than 1.2x (plus the small floor).
    """

    ratio: float = 0.2
    min_per_s: float = 10.0
    window_s: float = 10.0


@dataclass(frozen=True)
class Retry:
    """Which outcomes are retried, how often, and how long to wait.

    Only idempotent methods are retried unless the call passes `idempotent=True`.
    Defaults: 3 attempts in all; retry on connect errors, timeouts and 429/502/503/504;
    `Retry-After` honoured up to 2 s.
    """

    attempts: int = 3
    backoff: FullJitter = field(default_factory=FullJitter)
    budget: RetryBudget = field(default_factory=RetryBudget)
    retry_on_status: frozenset[int] = frozenset({429, 502, 503, 504})
    retry_on_exceptions: tuple[type[BaseException], ...] = ()
    max_retry_after: float = 2.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts counts the first try: it must be >= 1")


@dataclass(frozen=True)
class Breaker:
    """Circuit breaker per endpoint on a time-based sliding window (resilience4j).

    Opens when, over the last `window` seconds and at least `min_calls` calls, the
    failure rate reaches `failure_rate` or the rate of calls slower than `slow_after`
    reaches `slow_call`. Stays open `open_for` seconds, then lets `half_open_probes`
    calls through (never more at once); all good → closed, any bad → open again.
    Defaults: 30 s window, 50 % failures, 90 % slow calls, 20 calls minimum, 5 s open,
    3 probes; `slow_after=None` uses the attempt timeout.
    """

    window: float = 30.0
    failure_rate: float = 0.5
    slow_call: float = 0.9
    min_calls: int = 20
    open_for: float = 5.0
    half_open_probes: int = 3
    slow_after: float | None = None
    buckets: int = 10


@dataclass(frozen=True)
class Bulkhead:
    """At most `max_concurrent` calls in flight per upstream; others wait up to `max_wait`.

    `adaptive=True` turns the limit into an AIMD limit between `min_limit` and
    `max_concurrent` (Netflix concurrency-limits): +1 per good call, x0.9 on a failure
    or a call slower than `latency_target`.
    """

    max_concurrent: int = 100
    max_wait: float = 0.1
    adaptive: bool = False
    min_limit: int = 4
    latency_target: float = 1.0


@dataclass(frozen=True)
class Hedge:
    """Send one more attempt to a different, free endpoint when the first is slow.

    `delay=None` uses the upstream's tracked `quantile` of latency ("The Tail at
    Scale"), with `min_delay` as a floor. The default quantile is p90, not the paper's
    p95: when an upstream's tail is its stalls (the remote stalls 5 % of calls), p95
    lands on the stalls themselves and the hedge would wait as long as the stall.
    The original attempt is not cancelled: the hedge races it (Envoy
    `hedge_on_per_try_timeout`). A hedge goes only to an endpoint with room under its
    concurrency limit and without an attempt of the same call (Envoy
    `retry_host_predicate: previous_hosts`); it is charged to the retry budget, and only
    idempotent calls are hedged.
    """

    delay: float | None = None
    min_delay: float = 0.05
    max_hedges: int = 1
    quantile: float = 0.9


@dataclass(frozen=True)
class ConcurrencyLimit:
    """How many attempts one endpoint may have in flight, learned from its answers.

    - Starts at `initial`: 1, as HAProxy's `maxconn 1` for a server whose capacity is
      unknown. A higher start sends a serialized replica a pile of requests before
      the first stall shows what it is (measured: 14 queued behind one stall at 20).
    - An endpoint with a stuck attempt (older than twice the expected latency, the
      hedge delay) that no later attempt has overtaken gets no new attempt: a
      serialized replica in a stall would queue it behind. One probe at a time may
      ask an endpoint whose limit is above 1 whether it still works past it.
    - An answer that overtakes an attempt sent more than `reorder_tolerance` before it
      proves the endpoint works side by side: the limit grows by one and the overtaken
      attempt no longer blocks.
    - An answer that came late and right after the attempts it had been sent behind
      proves they were served one by one: the limit drops to how many were ahead (at
      most half, floor 1). A serialized replica converges to 1, as HAProxy's
      `maxconn 1`, and stays there, since it never overtakes.
    - Past the limit, one probe at a time; a probe that overtakes nothing doubles the
      wait before the next, from `probe_interval` up to `max_probe_interval`.

    Anchors: Netflix concurrency-limits (Vegas/Gradient2 learn a limit per endpoint
    from latency; with latency uniform over 0-999 ms their no-load RTT ratio is noise,
    the ordering of answers is not); HAProxy `maxconn` + queue; Envoy `least_request`
    and outlier detection on local-origin failures. An endpoint whose answers all take
    the same time never overtakes; its limit then only falls, so give it an `initial`.
    """

    initial: int = 1
    max_limit: int = 100
    probe_interval: float = 0.05
    max_probe_interval: float = 10.0
    reorder_tolerance: float = 0.002

    def __post_init__(self) -> None:
        if not 1 <= self.initial <= self.max_limit:
            raise ValueError("need 1 <= initial <= max_limit")


@dataclass(frozen=True)
class Ejection:
    """Outlier ejection (Envoy): `consecutive_failures` in a row eject an endpoint for
    `base_time` x 2**(times ejected - 1), capped at `max_time`; never all endpoints.
    """

    consecutive_failures: int = 5
    base_time: float = 5.0
    max_time: float = 120.0
    failure_penalty: float = 1.0


@dataclass(frozen=True)
class Policy:
    """Everything one upstream's calls go through; every part has a safe default."""

    timeout: Timeout = field(default_factory=Timeout)
    retry: Retry = field(default_factory=Retry)
    breaker: Breaker | None = field(default_factory=Breaker)
    bulkhead: Bulkhead | None = field(default_factory=Bulkhead)
    hedge: Hedge | None = field(default_factory=Hedge)
    ejection: Ejection = field(default_factory=Ejection)
    limit: ConcurrencyLimit | None = field(default_factory=ConcurrencyLimit)
