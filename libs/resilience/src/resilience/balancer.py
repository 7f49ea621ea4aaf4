"""Load balancing: power of two choices on peak-EWMA latency x outstanding requests,
among the endpoints with room under their concurrency limit; a queue when none has.

As Linkerd/Finagle: each endpoint's cost is its peak-sensitive EWMA latency times
(outstanding + 1); of two endpoints picked at random the cheaper wins. Fast failures
(429/503, connection refused) are recorded with a penalty latency so an endpoint that
fails quickly does not attract traffic. Outlier ejection as Envoy: consecutive failures
eject an endpoint for a growing time, and never every endpoint.

When every admissible endpoint is at its limit the attempt waits here, as a request
waits in HAProxy's queue for a server under `maxconn`, rather than at an endpoint that
is busy; waiters are woken earliest deadline first whenever an attempt ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from resilience.limits import EndpointLimit, Room
from resilience.policy import ConcurrencyLimit, Ejection

RECHECK_S = 0.05  # waiters also look again this often (breaker and ejection timers)

DECAY_S = 10.0  # EWMA time constant (Finagle's default decay)


UNLIMITED = ConcurrencyLimit(initial=1_000_000, max_limit=1_000_000)


@dataclass
class EndpointStats:
    url: str
    limit: EndpointLimit
    ewma: float = 0.0
    last_update: float | None = None
    consecutive_failures: int = 0
    times_ejected: int = 0
    ejected_until: float = 0.0

    @property
    def outstanding(self) -> int:
        return self.limit.in_flight

    def cost(self) -> float:
        return (self.ewma or 1e-3) * (self.outstanding + 1)


class NoEndpointError(Exception):
    """No endpoint could ever take this attempt (all excluded, or all breakers open)."""

    def __init__(self, *, breakers_open: bool) -> None:
        super().__init__("no endpoint admits the attempt")
        self.breakers_open = breakers_open


@dataclass(order=True)
class _Waiter:
    deadline: float
    order: int
    woken: asyncio.Event = field(compare=False, default_factory=asyncio.Event)


@dataclass(frozen=True)
class Ask:
    """What one attempt asks of the balancer.

    `exclude`: endpoints it must not use (the call's attempts still running there);
    `avoid`: endpoints already tried by the call, used only when no other has room;
    `admit` says whether the breaker would let a call through and `take` takes its
    permit; `stuck_after()` is how long an attempt may run before its endpoint counts
    as blocked (read at each look, as the latency it derives from moves).
    """

    exclude: set[str]
    avoid: set[str]
    admit: Callable[[EndpointStats], bool]
    take: Callable[[EndpointStats], bool]
    stuck_after: Callable[[], float]


class Balancer:
    def __init__(
        self,
        urls: Sequence[str],
        *,
        ejection: Ejection,
        limit: ConcurrencyLimit | None,
        clock: Callable[[], float],
        rng: random.Random,
    ) -> None:
        if not urls:
            raise ValueError("at least one endpoint is needed")
        config = limit or UNLIMITED
        self.endpoints = [EndpointStats(url.rstrip("/"), EndpointLimit(config)) for url in urls]
        self.ejection = ejection
        self.clock = clock
        self.rng = rng
        self._waiters: list[_Waiter] = []
        self._order = itertools.count()

    def available(self, exclude: set[str] | None = None) -> list[EndpointStats]:
        now = self.clock()
        return [
            e for e in self.endpoints if e.ejected_until <= now and e.url not in (exclude or set())
        ]

    def _p2c(self, candidates: list[EndpointStats]) -> EndpointStats | None:
        if not candidates:
            return None
        if len(candidates) == 1:
            return candidates[0]
        first, second = self.rng.sample(candidates, 2)
        return first if first.cost() <= second.cost() else second

    def try_take(self, ask: Ask) -> tuple[EndpointStats, int] | None:
        """An endpoint with room now, its slot taken: `(endpoint, attempt id)`, or None.

        Raises `NoEndpointError` when waiting could not help.
        """
        candidates = self.available(ask.exclude)
        if not candidates:
            raise NoEndpointError(breakers_open=False)
        admitted = [e for e in candidates if ask.admit(e)]
        if not admitted:
            raise NoEndpointError(breakers_open=True)
        now = self.clock()
        stuck_after = ask.stuck_after()
        rooms = {e.url: e.limit.room(now, stuck_after=stuck_after) for e in admitted}
        for pool in (
            [e for e in admitted if rooms[e.url] is Room.SLOT and e.url not in ask.avoid],
            [e for e in admitted if rooms[e.url] is Room.SLOT],
            [e for e in admitted if rooms[e.url] is Room.PROBE and e.url not in ask.avoid],
        ):
            endpoint = self._p2c(pool)
            if endpoint is not None and ask.take(endpoint):
                room = rooms[endpoint.url]
                assert room is not None
                return endpoint, endpoint.limit.sent(now, room)
        return None

    def take_uncontended(self, ask: Ask) -> tuple[EndpointStats, int] | None:
        """`try_take` while nobody waits in the queue; None otherwise, and whenever it
        finds no room or no endpoint: the caller then queues with `acquire`, which
        decides. The common case, an endpoint free and no queue, then costs the caller
        no task and no turn of the loop."""
        if self._waiters:
            return None
        try:
            return self.try_take(ask)
        except NoEndpointError:
            return None

    async def acquire(
        self, ask: Ask, *, deadline: float, wanted: Callable[[], bool] = lambda: True
    ) -> tuple[EndpointStats, int] | None:
        """`try_take`, waiting in the queue (earliest deadline first) until `deadline`.

        Returns None when the deadline passed first, or as soon as `wanted()` is false
        (the call got its answer meanwhile: its slot goes to the next waiter, not to a
        request nobody needs). Cancel-safe: a cancelled waiter holds no slot.
        """
        if not self._waiters:
            taken = self.try_take(ask)
            if taken is not None:
                return taken
        waiter = _Waiter(deadline, next(self._order))
        self._waiters.append(waiter)
        self.wake()  # a round in deadline order: older waiters look first
        try:
            while True:
                left = deadline - self.clock()
                if left <= 0:
                    return None
                wait = min(left, RECHECK_S, self._next_probe_in())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(waiter.woken.wait(), timeout=wait)
                waiter.woken.clear()
                if not wanted():
                    return None
                taken = self.try_take(ask)
                if taken is not None:
                    return taken
        finally:
            self._waiters.remove(waiter)

    def _next_probe_in(self) -> float:
        """Seconds until some endpoint could take a probe (waiters look again then)."""
        now = self.clock()
        # Only future times: a probe already due but refused (e.g. the endpoint is
        # blocked) is no event, and counting it would spin the waiters.
        times = [t for e in self.endpoints if (t := e.limit.probe_at()) is not None and t > now]
        return min(times, default=now + RECHECK_S) - now

    def wake(self) -> None:
        """Something may have room: every waiter looks again, earliest deadline first
        (asyncio resumes them in the order they are woken)."""
        for waiter in sorted(self._waiters):
            waiter.woken.set()

    def observe(
        self, endpoint: EndpointStats, *, latency: float, failure: bool, shed: bool = False
    ) -> None:
        """`shed`: the endpoint refused the work (429). Like a failure it makes the
        endpoint look slow, so traffic moves away, but it never counts towards ejection:
        a 429 may be one caller's own rate limit."""
        now = self.clock()
        sample = max(latency, self.ejection.failure_penalty) if failure or shed else latency
        if endpoint.last_update is None:
            endpoint.ewma = sample
        elif sample > endpoint.ewma:
            endpoint.ewma = sample  # peak-sensitive: jump up at once, decay down slowly
        else:
            weight = math.exp(-(now - endpoint.last_update) / DECAY_S)
            endpoint.ewma = endpoint.ewma * weight + sample * (1 - weight)
        endpoint.last_update = now
        if failure:
            endpoint.consecutive_failures += 1
            if endpoint.consecutive_failures >= self.ejection.consecutive_failures:
                self._eject(endpoint, now)
        elif not shed:
            endpoint.consecutive_failures = 0

    def _eject(self, endpoint: EndpointStats, now: float) -> None:
        others = [e for e in self.endpoints if e is not endpoint and e.ejected_until <= now]
        if not others:
            return  # never eject the last endpoint standing
        endpoint.times_ejected += 1
        duration = self.ejection.base_time * 2 ** (endpoint.times_ejected - 1)
        endpoint.ejected_until = now + min(duration, self.ejection.max_time)
        endpoint.consecutive_failures = 0
