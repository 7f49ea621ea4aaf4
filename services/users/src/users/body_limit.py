"""Request body cap enforced while the body streams in.

Starlette's own `RequestBodyLimitMiddleware` answers an over-declared Content-Length
with a text/plain 413 before our problem+json handlers can see it; this one answers
with problem details in both cases: up front when Content-Length is too big, and
mid-stream (chunked bodies) by raising an HTTPException from `receive`, which FastAPI
re-raises through the app's exception handlers. Nothing beyond the cap is read.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from observability import problem_response


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _detail(self) -> str:
        return f"request body larger than {self.max_bytes} bytes"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await problem_response(413, detail=self._detail())(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413, detail=self._detail())
            return message

        await self.app(scope, limited_receive, send)
