"""Edge limits every server built on this lib applies before a route runs.

- `ServerLimits` (applied by `serve`): the request head (request line + headers) is
  capped in bytes, a connection gets `head_timeout_s` to deliver each request head,
  idle or trickling (slowloris), and `X-Forwarded-For` is read only from the proxies
  named in `trusted_proxies`. Defaults in the spirit of nginx's `client_header_timeout`
  and `large_client_header_buffers`: 32 KiB of head, 5 s.
- `BodyLimits` (applied by `create_app`): a cap on every request body, per path where
  a route needs less, and a deadline for the whole body to arrive: 413 and 408 as
  problem details, with `Connection: close` since the rest of the body is unread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import h11
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import STATUS_PHRASES, H11Protocol

from observability.problems import problem_response

DEFAULT_MAX_HEAD_BYTES = 32 * 1024
DEFAULT_HEAD_TIMEOUT_S = 5.0
DEFAULT_BODY_TIMEOUT_S = 30.0
LINGER_S = 2.0  # a refused connection's input is read and dropped this long at most
_CLOSE = {"Connection": "close"}


@dataclass(frozen=True)
class ServerLimits:
    """Connection-level limits for `serve`.

    `max_head_bytes`: a longer request line + headers is refused (400) before any of it
    reaches the app; `head_timeout_s`: seconds a connection has to deliver a whole
    request head, once opened or after its previous response (also the keep-alive idle
    timeout); `trusted_proxies`: addresses (or "*") whose `X-Forwarded-For` and
    `X-Forwarded-Proto` are believed; empty (the default) trusts nobody, so a client
    cannot choose the address its rate limit is counted under.
    """

    max_head_bytes: int = DEFAULT_MAX_HEAD_BYTES
    head_timeout_s: float = DEFAULT_HEAD_TIMEOUT_S
    trusted_proxies: tuple[str, ...] = ()
    # False: uvicorn's httptools parser, about twice as fast per request, which bounds
    # neither head size nor head time; for `internal()` servers only.
    bounded_head: bool = True

    @classmethod
    def internal(cls) -> ServerLimits:
        """For a service only the gateway reaches (every NetworkPolicy denies the rest):
        the heads it gets were bounded, in bytes and time, by the gateway already, so
        it parses them with httptools instead of paying for h11 a second time."""
        return cls(bounded_head=False)

    def uvicorn_options(self) -> dict[str, Any]:
        proxies = {
            "proxy_headers": bool(self.trusted_proxies),
            "forwarded_allow_ips": list(self.trusted_proxies) or None,
        }
        if not self.bounded_head:
            return {"http": "httptools", "timeout_keep_alive": self.head_timeout_s, **proxies}
        return {
            # h11, not httptools: only h11 bounds the bytes of an incomplete head.
            "http": HeadTimeoutH11Protocol,
            "h11_max_incomplete_event_size": self.max_head_bytes,
            # Seconds, read by HeadTimeoutH11Protocol per head as well as when idle.
            "timeout_keep_alive": self.head_timeout_s,
            **proxies,
        }


class _BoundedHeadConnection(h11.Connection):
    """h11 bounds only a head that is still incomplete: one that arrives whole in a
    single read (64 KiB and more on a fast link) would pass. This bounds them all."""

    def __init__(self, max_head_bytes: int) -> None:
        super().__init__(h11.SERVER, max_incomplete_event_size=max_head_bytes)
        self.max_head_bytes = max_head_bytes

    def next_event(self) -> Any:
        event = super().next_event()
        if isinstance(event, h11.Request):
            size = len(event.method) + len(event.target)
            size += sum(len(name) + len(value) + 4 for name, value in event.headers)
            if size > self.max_head_bytes:
                raise h11.RemoteProtocolError("request head too large", error_status_hint=431)
        return event


class HeadTimeoutH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline on each request head and a size cap on all.

    uvicorn closes idle keep-alive connections, but a client that sends a byte now and
    then (slowloris) cancels that timer with each byte and is never closed. Here a
    timer of `timeout_keep_alive` seconds runs from the moment the connection waits for
    a request head until the whole head has arrived, whatever trickles in meanwhile.
    A head over `h11_max_incomplete_event_size` bytes is answered 400 and closed.
    """

    _head_timer: asyncio.TimerHandle | None = None
    _lingering: bool = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limit = self.config.h11_max_incomplete_event_size or DEFAULT_MAX_HEAD_BYTES
        self.conn = _BoundedHeadConnection(limit)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state is not h11.IDLE:  # a request head has arrived
            self._cancel_head_timer()

    def on_response_complete(self) -> None:
        # Armed first: a pipelined head already buffered is handled (and the timer
        # cancelled) inside uvicorn's own on_response_complete.
        if not self.transport.is_closing():
            self._arm_head_timer()
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        """uvicorn's 400, then a lingering close, as nginx's `lingering_close`.

        A server that closes with the client's input still unread makes the kernel
        reset the connection, and a client still sending its oversized head then gets
        ECONNRESET instead of the 400 it was sent. So the answer is sent, the writing
        side shut, and whatever still arrives is discarded for `LINGER_S` at most.
        """
        headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close")]
        for event in (
            h11.Response(status_code=400, headers=headers, reason=STATUS_PHRASES[400]),
            h11.Data(data=msg.encode("ascii")),
            h11.EndOfMessage(),
        ):
            self.transport.write(self.conn.send(event))
        self._cancel_head_timer()
        self._lingering = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_S, self.transport.close)

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            return  # the answer is sent: what the client still sends is discarded
        super().data_received(data)

    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        self._head_timer = self.loop.call_later(self.timeout_keep_alive, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


def _frozen(mapping: Mapping[str, int] | None = None) -> Mapping[str, int]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class BodyLimits:
    """Request-body limits for `create_app`.

    `max_bytes`: the cap for every body (None: only `per_path` caps); `per_path`: a
    lower cap for an exact path (e.g. `{"/graphql": 65536}`); `timeout_s`: the whole
    body must arrive within this many seconds of the request head (default 30 s, as
    nginx's `client_body_timeout`), or the request is answered 408.
    """

    max_bytes: int | None = None
    per_path: Mapping[str, int] = field(default_factory=_frozen)
    timeout_s: float = DEFAULT_BODY_TIMEOUT_S

    def __post_init__(self) -> None:
        object.__setattr__(self, "per_path", _frozen(self.per_path))
        if self.timeout_s <= 0:
            raise ValueError("timeout_s must be positive")

    def cap(self, path: str) -> int | None:
        return self.per_path.get(path, self.max_bytes)


class BodyLimitMiddleware:
    """Enforces `BodyLimits` while the body streams in (nothing beyond the cap is read).

    An over-declared `Content-Length` is answered up front; a chunked body that grows
    past the cap, or one that has not finished arriving in time, fails the `receive`
    call with an HTTPException, which FastAPI passes to the app's problem handlers.
    """

    def __init__(self, app: ASGIApp, *, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self.limits.cap(scope["path"])
        too_large = f"request body larger than {cap} bytes"
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if cap is not None and declared.isdigit() and int(declared) > cap:
            await problem_response(413, detail=too_large, headers=_CLOSE)(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.limits.timeout_s
        received, complete = 0, False

        async def limited_receive() -> Message:
            nonlocal received, complete
            if complete:  # after the body only a disconnect can come: no deadline
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                detail = f"the request body did not arrive within {self.limits.timeout_s:g} s"
                raise HTTPException(408, detail=detail, headers=_CLOSE) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                complete = not message.get("more_body", False)
                if cap is not None and received > cap:
                    raise HTTPException(413, detail=too_large, headers=_CLOSE)
            return message

        await self.app(scope, limited_receive, send)
