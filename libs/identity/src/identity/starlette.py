"""Verifying the gateway's signature inside a service, and reading the caller.

`VerifyIdentity` is ASGI middleware (observability's `create_app` installs it when the
service has a secret; a bare ASGI app such as catalog's local adapter wraps itself):
every HTTP request outside `open_paths` must carry a header signed for exactly that
request (method, raw path, query, body), fresh and not seen before, or it is answered
401 problem+json before the app runs. Routes then read the verified caller with
`caller(request)`. Without a secret (a service run on its own in dev) there is no
middleware, no identity, and `caller()` returns None.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Collection, MutableMapping, Sequence
from http import HTTPStatus
from typing import Any, overload
from urllib.parse import quote

from starlette.exceptions import HTTPException
from starlette.requests import Request

from identity.signing import (
    DEFAULT_MAX_AGE_S,
    IDENTITY_HEADER,
    Identity,
    InvalidIdentity,
    ReplayCache,
    verify_header,
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SCOPE_KEY = "platform.identity"
ENFORCED_KEY = "platform.identity_enforced"
# Above every service's own body limit (the largest, predict, is 8 MiB): a bound on
# what one validly signed request can make the middleware buffer, not a policy.
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
_HEADER = IDENTITY_HEADER.lower().encode("latin-1")


def raw_path(scope: Scope) -> bytes:
    """The percent-encoded path as received (ASGI `raw_path`); the gateway signs the
    same bytes, so `%3F` in an id and a literal `?` never compare equal."""
    raw = scope.get("raw_path")
    if raw:
        return bytes(raw).partition(b"?")[0]
    return quote(scope["path"]).encode("latin-1")


class VerifyIdentity:
    """Refuses (401 problem+json) any HTTP request outside `open_paths` whose identity
    header does not verify under one of `secrets` (current first, then the previous
    one during a rotation), is older than `max_age_s`, was seen before (`replay`, a
    fresh `ReplayCache` by default) or was signed for another body. The body is read
    (at most `max_body_bytes`, else 413) only once the header itself holds.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        secrets: Sequence[bytes],
        open_paths: Collection[str] = (),
        max_age_s: float = DEFAULT_MAX_AGE_S,
        replay: ReplayCache | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        if not secrets:
            raise ValueError("VerifyIdentity needs at least one secret")
        self.app = app
        self.secrets = tuple(secrets)
        self.open_paths = frozenset(open_paths)
        self.max_age_s = max_age_s
        self.replay = replay or ReplayCache(max_age_s=max_age_s)
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope[ENFORCED_KEY] = True
        if scope["path"] in self.open_paths:
            await self.app(scope, receive, send)
            return
        headers = [value for name, value in scope.get("headers", ()) if name.lower() == _HEADER]
        try:
            if len(headers) > 1:
                raise InvalidIdentity("more than one identity header")
            signed = verify_header(
                self.secrets,
                scope["method"],
                raw_path(scope),
                headers[0].decode("latin-1") if headers else None,
                query=bytes(scope.get("query_string", b"")),
                max_age_s=self.max_age_s,
            )
        except InvalidIdentity as error:
            await _refuse(send, 401, str(error))
            return
        if not self.replay.first_use(signed.nonce):
            await _refuse(send, 401, "identity header replayed")
            return
        try:
            body = await read_body(receive, self.max_body_bytes)
        except HTTPException as error:  # an outer body limit (observability.edge): 408, 413
            self.replay.forget(signed.nonce)
            await _refuse(send, error.status_code, error.detail, dict(error.headers or {}))
            return
        if body is None:  # the client went away
            self.replay.forget(signed.nonce)
            return
        if isinstance(body, int):
            await _refuse(send, 413, f"request body larger than {body} bytes")
            return
        try:
            signed.check_body(body)
        except InvalidIdentity as error:
            self.replay.forget(signed.nonce)
            await _refuse(send, 401, str(error))
            return
        scope[SCOPE_KEY] = signed.identity
        await self.app(scope, replaying(body, receive), send)


@overload
async def read_body(receive: Receive, limit: None = None) -> bytes | None: ...
@overload
async def read_body(receive: Receive, limit: int) -> bytes | int | None: ...
async def read_body(receive: Receive, limit: int | None = None) -> bytes | int | None:
    """The whole request body; `limit` (an int) when it is larger; None on a disconnect.

    Shared with `observability.lean`, the other reader that must see the body before
    the app does and hand it on with `replaying`.
    """
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit is not None and size > limit:
            return limit
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def replaying(body: bytes, receive: Receive) -> Receive:
    """`receive` after the body was read: the body once more, then the client's own
    messages (a disconnect, which routes that watch for it still see)."""
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay


async def _refuse(
    send: Send, status: int, detail: str, headers: dict[str, str] | None = None
) -> None:
    """RFC 9457 problem details, as every service answers (this runs outside FastAPI's
    exception handlers, so it renders them itself)."""
    if status == 401:
        detail = f"{detail}: call through the gateway"
        headers = {"WWW-Authenticate": "Platform", **(headers or {})}
    body = json.dumps(
        {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status,
         "detail": detail}
    ).encode()  # fmt: skip
    raw = [(b"content-type", b"application/problem+json"),
           (b"content-length", str(len(body)).encode())]  # fmt: skip
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def caller(request: Request) -> Identity | None:
    """The verified caller; None when enforcement is off (no secret: a service run on
    its own); 401 on a route that `VerifyIdentity` left open (no identity to give)."""
    who = request.scope.get(SCOPE_KEY)
    if isinstance(who, Identity):
        return who
    if request.scope.get(ENFORCED_KEY):
        raise HTTPException(
            401,
            detail="this route carries no verified identity",
            headers={"WWW-Authenticate": "Platform"},
        )
    return None


async def require_caller(request: Request) -> Identity | None:
    """FastAPI dependency form of `caller` (use in `dependencies=[Depends(...)]`).

    `async` though it never awaits: FastAPI runs a plain `def` dependency in its thread
    pool, a hop to a worker thread and back on every request for a dictionary lookup.
    """
    return caller(request)
