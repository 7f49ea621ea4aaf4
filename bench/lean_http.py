"""A load generator's HTTP/1.1 client: keep-alive connections that cost the generator
next to nothing, so a bench measures the server and not its own client.

Written here rather than taken from aiohttp or httpx because the benches share two
cores with the servers they load, and those clients cost ~250-300 us of CPU per
request on this machine (aiohttp: the generator at 64-75 % of a core at 2,100-2,400
requests/s), more than the servers under test spend on the same request; wrk costs
nothing but cannot sign dumbkv's identity headers (a fresh HMAC and nonce per request,
valid for 5 s). This is only the client's half of HTTP/1.1 that the benches need: one
request at a time per connection, the request's bytes built by the caller, the answer
parsed by httptools (uvicorn's parser, llhttp) and its body kept. A connection the
server closed fails its request with ConnectionError.
"""

from __future__ import annotations

import asyncio

import httptools


class Connection(asyncio.Protocol):
    """One keep-alive connection; `request` sends raw bytes and waits for the answer."""

    def __init__(self) -> None:
        self._parser = httptools.HttpResponseParser(self)
        self._transport: asyncio.Transport | None = None
        self._answer: asyncio.Future[tuple[int, bytes]] | None = None
        self._body: list[bytes] = []

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        _, connection = await asyncio.get_running_loop().create_connection(cls, host, port)
        return connection

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        """The status and body of the answer to `raw` (a whole HTTP/1.1 request)."""
        assert self._transport is not None, "not connected"
        assert self._answer is None, "one request at a time"
        self._answer = asyncio.get_running_loop().create_future()
        self._transport.write(raw)
        try:
            return await self._answer
        finally:
            self._answer = None

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._parser.feed_data(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._answer is not None and not self._answer.done():
            self._answer.set_exception(ConnectionError(f"the server closed the connection: {exc}"))

    # httptools callbacks
    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        body, self._body = b"".join(self._body), []
        if self._answer is not None and not self._answer.done():
            self._answer.set_result((self._parser.get_status_code(), body))


def request_bytes(
    method: str, host: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> bytes:
    """A whole HTTP/1.1 request (keep-alive; a JSON body when there is one)."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    if body:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
