"""Guard around arbitrary async calls: the same pipeline, errors and metrics as the client."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import REGISTRY

from resilience import (
    Breaker,
    CircuitOpenError,
    DeadlineExceededError,
    FullJitter,
    Guard,
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


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_guard_counts_a_call_refused_for_want_of_time_as_a_deadline_rejection() -> None:
    async def never_called() -> None:
        raise AssertionError("no time was left to call")

    before = _sample("resilience_rejected_total", upstream="db-late", reason="deadline")
    policy = guard_policy(timeout=Timeout(per_try=0.001, total=0.001))

    with pytest.raises(DeadlineExceededError):
        await Guard("db-late", policy=policy).call(never_called)

    after = _sample("resilience_rejected_total", upstream="db-late", reason="deadline")
    assert after == before + 1


async def test_guard_measures_each_call_with_its_outcome() -> None:
    await Guard("db-measured", policy=guard_policy()).call(Flapping(failures=0))
    with pytest.raises(UpstreamUnavailableError):
        await Guard("db-measured", policy=guard_policy(breaker=None)).call(Flapping(failures=9))

    ok = _sample("resilience_call_duration_seconds_count", upstream="db-measured",
                 outcome="success")  # fmt: skip
    failed = _sample("resilience_call_duration_seconds_count", upstream="db-measured",
                     outcome="upstream_unavailable")  # fmt: skip
    assert (ok, failed) == (1, 1)


class Throttled(ConnectionError):
    retry_after = 30.0


async def test_guard_waits_at_least_the_errors_retry_after_before_retrying() -> None:
    """A throttled dependency says when to come back: the retry waits that long (here
    past the deadline, so the guard gives up at once rather than sleeping)."""
    calls = 0

    async def throttled() -> str:
        nonlocal calls
        calls += 1
        raise Throttled("slow down")

    policy = guard_policy(
        retry=Retry(attempts=3, backoff=FullJitter(base=0.001, cap=0.001),
                    retry_on_exceptions=(ConnectionError,), max_retry_after=60.0),
        timeout=Timeout(per_try=1.0, total=5.0),
        breaker=None,
    )  # fmt: skip

    with pytest.raises(DeadlineExceededError) as raised:
        await Guard("db-throttled", policy=policy).call(throttled)

    assert calls == 1
    assert isinstance(raised.value.__cause__, Throttled)


async def test_guard_fallback_answers_instead_of_the_error() -> None:
    async def fallback(error: Exception) -> str:
        return f"cached ({type(error).__name__})"

    result = await Guard("db-fallback", policy=guard_policy(breaker=None)).call(
        Flapping(failures=9), fallback=fallback
    )

    assert result == "cached (UpstreamUnavailableError)"
    assert _sample("resilience_call_duration_seconds_count", upstream="db-fallback",
                   outcome="fallback_upstream_unavailable") == 1  # fmt: skip
