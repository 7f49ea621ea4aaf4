"""The `invoke` use case: call the flaky remote through the resilience lib, serve the
last good answer when the circuit is open (stale-if-error), classify every failure.

With the platform's identity secret, each attempt carries the admitted caller signed
into `X-Platform-Identity` (`identity.client.SignedCaller`, as the REST proxies sign
theirs): a remote started with the secret answers only calls the gateway signed.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from enum import StrEnum

import httpx

from identity import Identity
from identity.client import SignedCaller
from resilience import (
    BulkheadFullError,
    CircuitOpenError,
    DeadlineExceededError,
    ResilienceError,
    ResilientClient,
)


class ErrorCode(StrEnum):
    UPSTREAM_UNAVAILABLE = "UPSTREAM_UNAVAILABLE"
    CIRCUIT_OPEN = "CIRCUIT_OPEN"
    DEADLINE_EXCEEDED = "DEADLINE_EXCEEDED"
    BAD_INPUT = "BAD_INPUT"


class InvokeError(Exception):
    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class InvokeResult:
    latency_ms: int
    output: str
    cached: bool = False


class StaleCache:
    """The last good answer per input, bounded (LRU), for stale-if-error."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[str, InvokeResult] = OrderedDict()

    def put(self, key: str, value: InvokeResult) -> None:
        if self.size <= 0:
            return
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def get(self, key: str) -> InvokeResult | None:
        return self._items.get(key)


class InvokeService:
    def __init__(
        self,
        remote: ResilientClient | None,
        *,
        max_input_chars: int,
        cache: StaleCache,
        identity_secret: bytes | None = None,
    ) -> None:
        self.remote = remote
        self.max_input_chars = max_input_chars
        self.cache = cache
        self.identity_secret = identity_secret

    async def invoke(self, value: str, *, caller: Identity) -> InvokeResult:
        if len(value) > self.max_input_chars:
            raise InvokeError(
                ErrorCode.BAD_INPUT, f"input longer than {self.max_input_chars} characters"
            )
        if not value.isascii():
            try:
                value.encode()
            except UnicodeEncodeError as error:  # a lone surrogate ("\ud800") has no UTF-8
                raise InvokeError(ErrorCode.BAD_INPUT, "input is not valid Unicode") from error
        if self.remote is None:
            raise InvokeError(ErrorCode.UPSTREAM_UNAVAILABLE, "no remote configured")
        try:
            # base64 of the input: safe to retry and to hedge (each attempt signed anew).
            response = await self.remote.post(
                "/invoke",
                json={"input": value},
                idempotent=True,
                auth=SignedCaller(self.identity_secret, caller) if self.identity_secret else None,
            )
        except ResilienceError as error:
            stale = self.cache.get(value)
            if stale is not None:
                return InvokeResult(stale.latency_ms, stale.output, cached=True)
            raise InvokeError(_code(error), "the remote service is unavailable") from error
        result = _parse(response)
        self.cache.put(value, result)
        return result


def _code(error: ResilienceError) -> ErrorCode:
    if isinstance(error, CircuitOpenError):
        return ErrorCode.CIRCUIT_OPEN
    if isinstance(error, DeadlineExceededError):
        return ErrorCode.DEADLINE_EXCEEDED
    if isinstance(error, BulkheadFullError):
        return ErrorCode.UPSTREAM_UNAVAILABLE
    return ErrorCode.UPSTREAM_UNAVAILABLE


def _parse(response: httpx.Response) -> InvokeResult:
    """Never let an upstream's error page or odd body become a decode error downstream."""
    if response.status_code != 200:
        raise InvokeError(
            ErrorCode.UPSTREAM_UNAVAILABLE, f"the remote answered {response.status_code}"
        )
    try:
        body = response.json()
        return InvokeResult(latency_ms=int(body["latency_ms"]), output=str(body["output"]))
    except (ValueError, KeyError, TypeError) as error:
        raise InvokeError(
            ErrorCode.UPSTREAM_UNAVAILABLE, "the remote answered with an unexpected body"
        ) from error
