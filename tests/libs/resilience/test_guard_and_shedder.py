"""Guard around arbitrary async calls, and the server-side LoadShedder."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI

from resilience import (
    Breaker,
    CircuitOpenError,
    DeadlineExceededError,
    FullJitter,
    Guard,
    LoadShedder,
    Policy,
    Retry,
    Timeout,
    UpstreamUnavailableError,
)


class Flapping:
    """A dependency that fails its first `failures` calls with ConnectionError."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError("transient")
        return "value"


def guard_policy(**overrides: object) -> Policy:
    defaults: dict[str, object] = {
        "retry": Retry(
            attempts=3,
            backoff=FullJitter(base=0.001, cap=0.005),
            retry_on_exceptions=(ConnectionError,),
        ),
        "hedge": None,
    }
    return Policy(**{**defaults, **overrides})  # type: ignore[arg-type]


async def test_guard_retries_marked_exceptions_until_success() -> None:
    dependency = Flapping(failures=2)

    result = await Guard("db", policy=guard_policy()).call(dependency)

    assert result == "value"
    assert dependency.calls == 3


async def test_guard_gives_up_with_the_last_error_as_cause() -> None:
    dependency = Flapping(failures=10)

    with pytest.raises(UpstreamUnavailableError) as raised:
        await Guard("db", policy=guard_policy(breaker=None)).call(dependency)

    assert isinstance(raised.value.__cause__, ConnectionError)
    assert dependency.calls == 3


async def test_guard_does_not_retry_unmarked_exceptions() -> None:
    calls = 0

    async def broken() -> None:
        nonlocal calls
        calls += 1
        raise KeyError("a bug, not an outage")

    with pytest.raises(KeyError):
        await Guard("db", policy=guard_policy()).call(broken)
    assert calls == 1


async def test_guard_cuts_a_hanging_call_at_its_deadline() -> None:
    async def hang() -> None:
        await asyncio.Event().wait()

    policy = guard_policy(timeout=Timeout(per_try=0.05, total=0.12), breaker=None)

    with pytest.raises((DeadlineExceededError, UpstreamUnavailableError)):
        await Guard("db", policy=policy).call(hang)


async def test_guard_breaker_fails_fast_once_open() -> None:
    dependency = Flapping(failures=100)
    guard = Guard(
        "db",
        policy=guard_policy(retry=Retry(attempts=1, retry_on_exceptions=(ConnectionError,)),
                            breaker=Breaker(min_calls=3, open_for=60)),
    )  # fmt: skip
    for _ in range(3):
        with pytest.raises(UpstreamUnavailableError):
            await guard.call(dependency)

    with pytest.raises(CircuitOpenError):
        await guard.call(dependency)
    assert dependency.calls == 3
    assert not guard.ready()


async def test_load_shedder_answers_503_with_retry_after_beyond_capacity() -> None:
    release = asyncio.Event()
    entered = asyncio.Event()
    app = FastAPI()

    @app.get("/busy")
    async def busy() -> dict[str, str]:
        entered.set()
        await release.wait()
        return {"status": "done"}

    @app.get("/livez")
    async def livez() -> dict[str, str]:
        return {"status": "alive"}

    shed = LoadShedder(app, max_concurrent=1, max_wait=0.01, retry_after=2)
    transport = httpx.ASGITransport(app=shed)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        first = asyncio.create_task(client.get("/busy"))
        await entered.wait()
        rejected = await client.get("/busy")
        probe = await client.get("/livez")
        release.set()
        accepted = await first

    assert rejected.status_code == 503
    assert rejected.headers["retry-after"] == "2"
    assert rejected.headers["content-type"] == "application/problem+json"
    assert probe.status_code == 200  # probes are never shed
    assert accepted.status_code == 200
