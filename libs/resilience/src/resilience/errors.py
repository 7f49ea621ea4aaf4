"""The errors a resilient call ends with; all subclass `ResilienceError`."""

from __future__ import annotations

import httpx


class ResilienceError(Exception):
    """A call gave up; `upstream` names the upstream."""

    def __init__(self, upstream: str, message: str) -> None:
        super().__init__(f"{upstream}: {message}")
        self.upstream = upstream


class UpstreamUnavailableError(ResilienceError):
    """Every allowed attempt failed (transport error, timeout or retryable status)."""

    def __init__(
        self,
        upstream: str,
        message: str,
        *,
        status_code: int | None = None,
        response: httpx.Response | None = None,
        budget_exhausted: bool = False,
    ) -> None:
        super().__init__(upstream, message)
        self.status_code = status_code
        self.response = response
        self.budget_exhausted = budget_exhausted


class CircuitOpenError(ResilienceError):
    """Every endpoint's breaker is open: failing fast without calling the upstream."""


class DeadlineExceededError(ResilienceError):
    """The call's deadline passed (or too little was left to start another attempt)."""


class BulkheadFullError(ResilienceError):
    """Too many calls in flight to this upstream and the bounded wait ran out."""
