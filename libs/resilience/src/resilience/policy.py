"""Policy configuration: frozen dataclasses with safe defaults and their anchors.

Pipeline order follows .NET's standard resilience handler (Polly v8): total timeout →
retry (with budget, hedging) → circuit breaker → attempt timeout, with a bulkhead
around the whole call and load balancing choosing each attempt's endpoint.
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
    """

    per_try: float = 0.8
    total: float = 2.5

    def __post_init__(self) -> None:
        if not 0 < self.per_try <= self.total:
            raise ValueError("need 0 < per_try <= total")


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
    """Send one more attempt to a different endpoint when the first is slow.

    `delay=None` uses the upstream's tracked p95 latency ("The Tail at Scale"), with
    `min_delay` as a floor until enough samples exist. Hedges are charged to the retry
    budget, and only idempotent calls are hedged.
    """

    delay: float | None = None
    min_delay: float = 0.05
    max_hedges: int = 1


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
