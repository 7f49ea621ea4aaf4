"""One `ResilientClient` per upstream, each with the policy its calls need."""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.settings import Settings
from resilience import (
    Breaker,
    ConcurrencyLimit,
    FullJitter,
    Hedge,
    Policy,
    ResilientClient,
    Retry,
    Timeout,
)

SERVICE_NAMES = ("dumbkv", "predictor", "users", "catalog")
SERVICE_INITIAL_LIMIT = 32


def remote_policy(settings: Settings) -> Policy:
    """invoke: 2.5 s total, ~0.8 s per try, hedged; the remote's 500s are transient too.

    The concurrency limit is the library's default: it starts at 1 per replica, as
    HAProxy's `maxconn 1`, and grows only if a replica shows it serves side by side
    (the remote's serialized replicas never do; its concurrent model does).
    """
    return Policy(
        timeout=Timeout(per_try=settings.invoke_per_try_s, total=settings.invoke_total_s),
        retry=Retry(
            attempts=4,  # fast 500/503s: a fourth try still fits well inside 2.5 s
            backoff=FullJitter(base=0.02, cap=0.25),
            retry_on_status=frozenset({429, 500, 502, 503, 504}),
        ),
        breaker=Breaker(
            window=10.0, failure_rate=0.5, min_calls=20, open_for=settings.breaker_open_s
        ),
        hedge=Hedge(min_delay=0.05) if settings.invoke_hedging else None,
    )


def service_policy(settings: Settings, name: str) -> Policy:
    """Internal services: reads retried, writes not (the call says which it is)."""
    total = settings.predict_total_s if name == "predictor" else settings.services_total_s
    return Policy(
        timeout=Timeout(per_try=total, total=total),
        retry=Retry(attempts=2, backoff=FullJitter(base=0.02, cap=0.2)),
        breaker=Breaker(window=10.0, min_calls=10, open_for=settings.breaker_open_s),
        hedge=None,
        # The platform's own services are async servers that work side by side: start
        # with room (the limit still falls if one is seen serving one call at a time).
        limit=ConcurrencyLimit(initial=SERVICE_INITIAL_LIMIT),
    )


@dataclass
class Upstreams:
    remote: ResilientClient | None
    services: dict[str, ResilientClient] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> Upstreams:
        endpoints = settings.remote_endpoints
        remote = (
            ResilientClient("remote", endpoints, policy=remote_policy(settings))
            if endpoints
            else None
        )
        services = {}
        for name in SERVICE_NAMES:
            url = getattr(settings, f"{name}_url")
            if url:
                services[name] = ResilientClient(
                    name, [url.rstrip("/")], policy=service_policy(settings, name)
                )
        return cls(remote=remote, services=services)

    async def aclose(self) -> None:
        clients = [*self.services.values(), *([self.remote] if self.remote else [])]
        for client in clients:
            await client.aclose()
