"""Response headers the edge adds to every answer, errors and probes included.

- `X-Content-Type-Options: nosniff`: browsers never reinterpret a JSON body as HTML;
- `Referrer-Policy: no-referrer`: URLs (ids, keys in links) never leak to third parties;
- `Strict-Transport-Security` when the request came over TLS (directly, or per
  `X-Forwarded-Proto: https` from the load balancer that terminates it) — browsers
  ignore it over plain HTTP anyway, and sending it there would pin a dev host to HTTPS;
- the request's `RateLimit-*` headers, when the guard made a rate-limit decision, so
  well-behaved clients can pace themselves before they hit 429.
No `Server` header: `observability.serve` runs uvicorn with `server_header=False`.

Pure ASGI (not BaseHTTPMiddleware): it only rewrites the response start message.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Where in the request's scope state `gateway.deps` leaves the rate-limit headers.
RATELIMIT_STATE = "ratelimit_headers"
HSTS = "max-age=31536000; includeSubDomains"
ALWAYS = ((b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"))


def _over_tls(scope: Scope) -> bool:
    if scope.get("scheme") == "https":
        return True
    for key, value in scope.get("headers", ()):
        if key == b"x-forwarded-proto":
            return value.decode("latin-1").split(",")[0].strip().lower() == "https"
    return False


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = list(ALWAYS)
        if _over_tls(scope):
            extra.append((b"strict-transport-security", HSTS.encode()))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (key, value)
                    for key, value in message.get("headers", ())
                    if key.lower() != b"server"
                ]
                present = {key.lower() for key, _ in headers}
                limits: dict[str, str] = scope.get("state", {}).get(RATELIMIT_STATE) or {}
                additions = extra + [(k.lower().encode(), v.encode()) for k, v in limits.items()]
                headers += [(key, value) for key, value in additions if key not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
