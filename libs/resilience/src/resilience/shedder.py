"""`LoadShedder`: server-side protection — a concurrency limit with a bounded queue.

A service that is saturated answers 503 + `Retry-After` at once (cheap) instead of
queueing work it will finish too late (Google SRE book, "Handling Overload").
Probes and /metrics are never shed, so an overloaded pod is not also killed.
"""

from __future__ import annotations

import asyncio
import json

from starlette.types import ASGIApp, Receive, Scope, Send

from resilience.metrics import client_metrics

EXEMPT_PATHS = frozenset({"/livez", "/readyz", "/metrics"})


class LoadShedder:
    """ASGI middleware: at most `max_concurrent` requests in flight; others wait up to
    `max_wait` seconds for a slot, then get 503 with `Retry-After: retry_after`.

    Defaults: 256 in flight, 50 ms wait, Retry-After 1 s.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_concurrent: int = 256,
        max_wait: float = 0.05,
        retry_after: int = 1,
        name: str = "server",
    ) -> None:
        self.app = app
        self.max_wait = max_wait
        self.retry_after = retry_after
        self.name = name
        self._slots = asyncio.Semaphore(max_concurrent)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        try:
            await asyncio.wait_for(self._slots.acquire(), timeout=self.max_wait)
        except TimeoutError:
            client_metrics().rejected.labels(self.name, "shed").inc()
            await self._reject(send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self._slots.release()

    async def _reject(self, send: Send) -> None:
        body = json.dumps(
            {
                "type": "about:blank",
                "title": "Service Unavailable",
                "status": 503,
                "detail": "The server is at capacity; retry after the indicated delay.",
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"retry-after", str(self.retry_after).encode()),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
