"""The edge guard: authenticate, rate-limit and authorise every request to a guarded route.

No FastAPI here: `gateway.deps` reads the request, hands the guard plain values, puts
the rate-limit headers on the answer and raises the refusal, which `gateway.api`'s one
exception map turns into a status. Order matters:
1. credentials → `Identity` (anonymous when none are sent; a bad credential is remembered);
2. rate limit, by identity when authenticated, by client IP otherwise — also before a
   bad credential is answered, so guessing keys costs the guesser its IP's bucket;
3. `Unauthenticated` for a bad credential, then the route's policy (`Unauthenticated` /
   `Forbidden`);
4. only then the caller's `X-Request-Deadline-Ms`: an anonymous caller's is raised to a
   floor (it must not make the gateway fail requests at will), and one that has passed
   is refused (`DeadlinePassed`) — after the caller has paid its rate-limit token.
The caller's key id and owner are bound to the log context, so every log line of the
request (the access line included) names them; the key itself is never logged.
"""

from __future__ import annotations

from dataclasses import dataclass

import anyio.to_thread
import structlog

from gateway.auth.api_keys import ApiKeyRejected, KeyStore
from gateway.auth.oidc import IssuerUnavailable, JwtVerifier, TokenRejected
from gateway.auth.policy import AuthMode, Forbidden, Unauthenticated, authorize, required_access
from gateway.auth.ratelimit import Limit, RateDecision, RateLimiter
from identity import Identity
from resilience import deadlines

ANONYMOUS = Identity("anonymous")
REALM = 'realm="platform"'


class BadCredentials(Exception):
    """An Authorization header was sent and does not authenticate anyone."""


class RateLimited(Exception):
    """The caller's bucket is empty: `decision` says when a token is back."""

    def __init__(self, decision: RateDecision) -> None:
        super().__init__(f"rate limit exceeded: retry in {decision.retry_after_s} s")
        self.decision = decision


class DeadlinePassed(Exception):
    """The caller's own deadline had passed by the time it was admitted."""

    def __init__(self) -> None:
        super().__init__("the request's deadline (X-Request-Deadline-Ms) had passed")


# What stops a request at the edge; each is one entry of gateway.api's exception map.
Refusal = IssuerUnavailable | RateLimited | Unauthenticated | Forbidden | DeadlinePassed


@dataclass(frozen=True)
class Admission:
    """The guard's verdict on one request: who is calling, the rate-limit decision (its
    headers go on the answer whatever the outcome), and the refusal, if any."""

    caller: Identity
    rate_limit: RateDecision | None = None
    refusal: Refusal | None = None


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

    async def admit(
        self, *, authorization: str | None, method: str, path: str, client_ip: str
    ) -> Admission:
        """The verdict on a request, in the order of the module docstring."""
        failure: BadCredentials | None = None
        try:
            who = await self.authenticate(authorization)
        except BadCredentials as error:
            who, failure = ANONYMOUS, error
        except IssuerUnavailable as error:
            return Admission(ANONYMOUS, refusal=error)
        _bind_caller(who)

        decision = self._rate_limit(who, client_ip)
        if decision is not None and not decision.allowed:
            return Admission(who, decision, RateLimited(decision))
        try:
            if failure is not None:
                raise Unauthenticated(str(failure))
            authorize(required_access(self.mode, method, path), who)
        except Unauthenticated as error:
            return Admission(who, decision, Unauthenticated(str(error), challenge=self.challenge))
        except Forbidden as error:
            return Admission(who, decision, error)
        if who.is_anonymous:
            deadlines.at_least(self.anonymous_min_deadline_s)
        if deadlines.expired():
            return Admission(who, decision, DeadlinePassed())
        return Admission(who, decision)

    def _rate_limit(self, who: Identity, client_ip: str) -> RateDecision | None:
        if who.is_anonymous:
            return self.limiter.take(f"ip:{client_ip}", self.anonymous_limit)
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
