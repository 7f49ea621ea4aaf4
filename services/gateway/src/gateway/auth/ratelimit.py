"""Token-bucket rate limits, one bucket per caller (identity or client IP), per replica.

A bucket holds up to `burst` tokens and refills at `rate` tokens per second; a request
takes one token or is refused with the time until one is back (`Retry-After`). The
headers follow the IETF httpapi RateLimit draft: `RateLimit-Limit` (the burst),
`RateLimit-Remaining` (whole tokens left) and `RateLimit-Reset` (seconds until full).

Buckets live in memory, so the limit applies per gateway replica (N replicas admit up
to N times the rate); the bucket table is bounded (least recently used buckets are
dropped, which can only ever give a caller a fresh, full bucket).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    """`rate` tokens per second, at most `burst` at once; a rate of 0 means unlimited."""

    rate: float
    burst: int

    @property
    def enabled(self) -> bool:
        return self.rate > 0


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_s: int
    retry_after_s: int

    def headers(self) -> dict[str, str]:
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_s),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after_s)
        return headers


class RateLimiter:
    """Buckets by key; `take(key, limit)` spends one token or says when to come back."""

    def __init__(
        self, *, max_buckets: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_buckets = max_buckets
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str, limit: Limit) -> RateDecision | None:
        """None when `limit` is disabled; otherwise whether this request may proceed."""
        if not limit.enabled:
            return None
        now = self.clock()
        tokens, updated = self._buckets.pop(key, (float(limit.burst), now))
        tokens = min(float(limit.burst), tokens + (now - updated) * limit.rate)
        allowed = tokens >= 1.0
        if allowed:
            tokens -= 1.0
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > self.max_buckets:
            self._buckets.popitem(last=False)
        return RateDecision(
            allowed=allowed,
            limit=limit.burst,
            remaining=math.floor(tokens),
            reset_s=math.ceil((limit.burst - tokens) / limit.rate),
            retry_after_s=0 if allowed else max(1, math.ceil((1.0 - tokens) / limit.rate)),
        )
