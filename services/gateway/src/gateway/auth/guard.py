"""The edge guard: authenticate, rate-limit and authorise every request to a guarded route.

Installed as a FastAPI dependency on the REST, GraphQL and admin routers (probes,
`/metrics` and the OpenAPI document stay open). Order matters:
1. credentials → `Identity` (anonymous when none are sent; a bad credential is remembered);
2. rate limit, by identity when authenticated, by client IP otherwise — also before a
   bad credential is answered, so guessing keys costs the guesser its IP's bucket;
3. 401 for a bad credential, then the route's policy (401 / 403);
4. only then the caller's `X-Request-Deadline-Ms`: an anonymous caller's is raised to a
   floor (it must not make the gateway fail requests at will), and one that has passed
   is answered 504 — after the caller has paid its rate-limit token.
The caller's key id and owner are bound to the log context, so every log line of the
request (the access line included) names them; the key itself is never logged.
"""

from __future__ import annotations

from dataclasses import dataclass

import anyio.to_thread
import structlog
from fastapi import Request

from gateway.auth.api_keys import ApiKeyRejected, KeyStore
from gateway.auth.oidc import IssuerUnavailable, JwtVerifier, TokenRejected
from gateway.auth.policy import AuthMode, Forbidden, Unauthenticated, authorize, required_access
from gateway.auth.ratelimit import Decision, Limit, RateLimiter
from identity import Identity
from observability import ProblemError, deadlines

ANONYMOUS = Identity("anonymous")
REALM = 'realm="platform"'
RATELIMIT_STATE = "ratelimit_headers"


class BadCredentials(Exception):
    """An Authorization header was sent and does not authenticate anyone."""


@dataclass
class EdgeGuard:
    mode: AuthMode
    keys: KeyStore
    jwt: JwtVerifier | None
    limiter: RateLimiter
    identified_limit: Limit
    anonymous_limit: Limit
    anonymous_min_deadline_s: float = 1.0

    @property
    def challenge(self) -> str:
        schemes = [f"Api-Key {REALM}"] + ([f"Bearer {REALM}"] if self.jwt else [])
        return ", ".join(schemes)

    async def authenticate(self, authorization: str | None) -> Identity:
        """The caller named by an `Authorization` header; anonymous without one."""
        if not authorization:
            return ANONYMOUS
        scheme, _, credentials = authorization.strip().partition(" ")
        credentials = credentials.strip()
        if scheme.lower() == "api-key" and credentials:
            try:
                record = await anyio.to_thread.run_sync(self.keys.verify, credentials)
            except ApiKeyRejected as error:
                raise BadCredentials(str(error)) from error
            return Identity(record.owner, "api-key", record.roles, record.key_id)
        if scheme.lower() == "bearer" and credentials:
            if self.jwt is None:
                raise BadCredentials("bearer tokens are not accepted: no issuer configured")
            try:
                return await self.jwt.verify(credentials)
            except TokenRejected as error:
                raise BadCredentials(str(error)) from error
        raise BadCredentials("unsupported Authorization scheme (Api-Key or Bearer)")

    async def admit(self, request: Request) -> Identity:
        failure: BadCredentials | None = None
        try:
            who = await self.authenticate(request.headers.get("authorization"))
        except BadCredentials as error:
            who, failure = ANONYMOUS, error
        except IssuerUnavailable as error:
            raise ProblemError(
                503, detail="the identity provider is unavailable", headers={"Retry-After": "5"}
            ) from error
        _bind_caller(who)

        decision = self._rate_limit(request, who)
        if decision is not None:
            request.scope.setdefault("state", {})[RATELIMIT_STATE] = decision.headers()
            if not decision.allowed:
                raise ProblemError(
                    429,
                    detail=f"rate limit exceeded: retry in {decision.retry_after_s} s",
                    headers=decision.headers(),
                )
        try:
            if failure is not None:
                raise Unauthenticated(str(failure))
            authorize(required_access(self.mode, request.method, request.url.path), who)
        except Unauthenticated as error:
            raise ProblemError(
                401, detail=str(error), headers={"WWW-Authenticate": self.challenge}
            ) from error
        except Forbidden as error:
            raise ProblemError(403, detail=str(error)) from error
        if who.is_anonymous:
            deadlines.at_least(self.anonymous_min_deadline_s)
        if deadlines.expired():
            raise ProblemError(
                504, detail="the request's deadline (X-Request-Deadline-Ms) had passed"
            )
        request.state.identity = who
        return who

    def _rate_limit(self, request: Request, who: Identity) -> Decision | None:
        if who.is_anonymous:
            client = request.client.host if request.client else "unknown"
            return self.limiter.take(f"ip:{client}", self.anonymous_limit)
        return self.limiter.take(f"{who.method}:{who.key_id or who.subject}", self.identified_limit)


def _bind_caller(who: Identity) -> None:
    # Bound, not scoped: the access log line is written by the observability middleware
    # after the route returns, in this same request task; the task's context ends with it.
    fields: dict[str, str] = {"auth": who.method}
    if not who.is_anonymous:
        fields["owner"] = who.subject
    if who.key_id:
        fields["key_id"] = who.key_id
    structlog.contextvars.bind_contextvars(**fields)


async def guard(request: Request) -> Identity:
    """FastAPI dependency: the admitted caller (also at `request.state.identity`)."""
    edge: EdgeGuard = request.app.state.edge
    return await edge.admit(request)
