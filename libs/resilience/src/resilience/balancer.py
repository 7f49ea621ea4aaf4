"""Load balancing: power of two choices on peak-EWMA latency x outstanding requests.

As Linkerd/Finagle: each endpoint's cost is its peak-sensitive EWMA latency times
(outstanding + 1); of two endpoints picked at random the cheaper wins. Fast failures
(429/503, connection refused) are recorded with a penalty latency so an endpoint that
fails quickly does not attract traffic. Outlier ejection as Envoy: consecutive failures
eject an endpoint for a growing time, and never every endpoint.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from resilience.policy import Ejection

DECAY_S = 10.0  # EWMA time constant (Finagle's default decay)


@dataclass
class EndpointStats:
    url: str
    ewma: float = 0.0
    last_update: float | None = None
    outstanding: int = 0
    consecutive_failures: int = 0
    times_ejected: int = 0
    ejected_until: float = 0.0
    samples: list[float] = field(default_factory=list)

    def cost(self) -> float:
        return (self.ewma or 1e-3) * (self.outstanding + 1)


class Balancer:
    def __init__(
        self,
        urls: Sequence[str],
        *,
        ejection: Ejection,
        clock: Callable[[], float],
        rng: random.Random,
    ) -> None:
        if not urls:
            raise ValueError("at least one endpoint is needed")
        self.endpoints = [EndpointStats(url.rstrip("/")) for url in urls]
        self.ejection = ejection
        self.clock = clock
        self.rng = rng

    def available(self, exclude: set[str] | None = None) -> list[EndpointStats]:
        now = self.clock()
        return [
            e for e in self.endpoints if e.ejected_until <= now and e.url not in (exclude or set())
        ]

    def pick(
        self,
        *,
        exclude: set[str] | None = None,
        admit: Callable[[EndpointStats], bool] | None = None,
    ) -> EndpointStats | None:
        """P2C among endpoints not ejected, not excluded and admitted (e.g. breaker closed)."""
        candidates = [e for e in self.available(exclude) if admit is None or admit(e)]
        if not candidates:
            return None
        if len(candidates) == 1:
            return candidates[0]
        first, second = self.rng.sample(candidates, 2)
        return first if first.cost() <= second.cost() else second

    def observe(self, endpoint: EndpointStats, *, latency: float, failure: bool) -> None:
        now = self.clock()
        sample = max(latency, self.ejection.failure_penalty) if failure else latency
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
        else:
            endpoint.consecutive_failures = 0

    def _eject(self, endpoint: EndpointStats, now: float) -> None:
        others = [e for e in self.endpoints if e is not endpoint and e.ejected_until <= now]
        if not others:
            return  # never eject the last endpoint standing
        endpoint.times_ejected += 1
        duration = self.ejection.base_time * 2 ** (endpoint.times_ejected - 1)
        endpoint.ejected_until = now + min(duration, self.ejection.max_time)
        endpoint.consecutive_failures = 0
