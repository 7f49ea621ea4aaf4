"""The fault model of the unreliable upstream (no FastAPI here).

Every decision takes the random draws from an injected RNG and the time from an injected
clock, so a seeded run is reproducible and tests can move time. `time_scale` shrinks
every duration (0.01 turns a 300 s stall into 3 s and the hourly cycle into 36 s).
"""

from __future__ import annotations

import hmac
import random
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from remote.settings import Settings


class ChaosDisabled(Exception):
    """Chaos control is off: no token is configured (REMOTE_CHAOS_TOKEN unset)."""


class ChaosTokenRejected(Exception):
    """The chaos token was missing or wrong."""


def check_chaos_token(configured: str | None, presented: str | None) -> None:
    """Returns when `presented` is the configured chaos token (compared in constant
    time); raises ChaosDisabled or ChaosTokenRejected."""
    if not configured:
        raise ChaosDisabled("chaos endpoint disabled (REMOTE_CHAOS_TOKEN unset)")
    if presented is None or not hmac.compare_digest(presented, configured):
        raise ChaosTokenRejected("missing or wrong X-Chaos-Token")


class FaultOutcome(StrEnum):
    OK = "ok"
    UNAVAILABLE = "unavailable"  # 503
    ERROR = "error"  # 500
    OUTAGE = "outage"  # 500, the hourly outage or a forced one


@dataclass(frozen=True)
class FaultDecision:
    outcome: FaultOutcome
    delay_s: float  # how long to wait before answering (latency, or a stall)
    latency_ms: int  # the latency reported in a successful body (unscaled, as the original)
    stalled: bool = False


class FaultModel:
    def __init__(
        self, settings: Settings, *, rng: random.Random, clock: Callable[[], float]
    ) -> None:
        self.settings = settings
        self.rng = rng
        self.clock = clock
        self.started = clock()
        period = settings.outage_period_minutes
        minute = settings.outage_start_minute
        if minute is None:
            minute = rng.uniform(0, max(period - settings.outage_minutes, 0))
        self.outage_start_minute = minute
        self.forced_outage_until = 0.0
        self.forced_latency_ms: int | None = None
        self.forced_latency_until = 0.0
        self.invocations = 0  # calls decided (processed)
        self.received = 0  # calls that reached /invoke, processed or still queued

    def scaled(self, seconds: float) -> float:
        return seconds * self.settings.time_scale

    def in_scheduled_outage(self) -> bool:
        period = self.scaled(self.settings.outage_period_minutes * 60)
        start = self.scaled(self.outage_start_minute * 60)
        length = self.scaled(self.settings.outage_minutes * 60)
        position = (self.clock() - self.started) % period
        return start <= position < start + length

    def force_outage(self, seconds: float) -> None:
        self.forced_outage_until = self.clock() + seconds

    def force_latency(self, latency_ms: int | None, seconds: float) -> None:
        self.forced_latency_ms = latency_ms
        self.forced_latency_until = self.clock() + seconds

    def decide(self, *, trigger_enabled: bool) -> FaultDecision:
        """What to do with one `/invoke` call."""
        self.invocations += 1
        s = self.settings
        if self.clock() < self.forced_outage_until or (
            trigger_enabled and self.in_scheduled_outage()
        ):
            return FaultDecision(FaultOutcome.OUTAGE, 0.0, 0)
        latency_ms = self.rng.randint(s.latency_min_ms, max(s.latency_max_ms, s.latency_min_ms))
        if self.forced_latency_ms is not None and self.clock() < self.forced_latency_until:
            latency_ms = self.forced_latency_ms
        stalled = self.rng.random() < s.stall_rate
        unavailable = self.rng.random() < s.failure_503_rate
        error = self.rng.random() < s.failure_500_rate
        delay = self.scaled(latency_ms / 1000) + (self.scaled(s.stall_s) if stalled else 0.0)
        if unavailable:
            return FaultDecision(FaultOutcome.UNAVAILABLE, delay, latency_ms, stalled)
        if error:
            return FaultDecision(FaultOutcome.ERROR, delay, latency_ms, stalled)
        return FaultDecision(FaultOutcome.OK, delay, latency_ms, stalled)
