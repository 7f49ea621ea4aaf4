"""The edge guard's decisions, from plain values (no HTTP: `gateway.deps` reads requests)."""

from __future__ import annotations

from pathlib import Path

from gateway.auth.api_keys import KeyStore
from gateway.auth.guard import Admission, DeadlinePassed, EdgeGuard, RateLimited
from gateway.auth.policy import Unauthenticated
from gateway.auth.ratelimit import Limit, RateLimiter
from resilience import deadlines


def _guard(tmp_path: Path, *, burst: int = 2) -> EdgeGuard:
    return EdgeGuard(
        mode="writes",
        keys=KeyStore(tmp_path / "keys.db"),
        jwt=None,
        limiter=RateLimiter(clock=lambda: 0.0),  # time stands still: no token comes back
        identified_limit=Limit(rate=1.0, burst=burst),
        anonymous_limit=Limit(rate=1.0, burst=burst),
        anonymous_min_deadline_s=1.0,
    )


async def _write(guard: EdgeGuard, authorization: str | None) -> Admission:
    return await guard.admit(
        authorization=authorization, method="PUT", path="/api/kv", client_ip="192.0.2.1"
    )


async def test_a_bad_key_is_refused_with_the_accepted_schemes_after_paying_a_token(
    tmp_path: Path,
) -> None:
    admission = await _write(_guard(tmp_path), "Api-Key pk_unknown_secret")

    assert isinstance(admission.refusal, Unauthenticated)
    assert admission.refusal.challenge == 'Api-Key realm="platform"'
    assert admission.rate_limit is not None
    assert admission.rate_limit.remaining == 1


async def test_an_empty_bucket_refuses_a_bad_key_before_saying_it_is_bad(tmp_path: Path) -> None:
    guard = _guard(tmp_path, burst=1)
    await _write(guard, "Api-Key pk_unknown_secret")

    admission = await _write(guard, "Api-Key pk_unknown_secret")

    assert isinstance(admission.refusal, RateLimited)
    assert admission.refusal.decision.retry_after_s == 1


async def test_an_identified_caller_whose_deadline_passed_is_refused(tmp_path: Path) -> None:
    guard = _guard(tmp_path)
    key = guard.keys.create("alice").key

    with deadlines.deadline_scope(0):
        admission = await _write(guard, f"Api-Key {key}")

    assert admission.caller.subject == "alice"
    assert isinstance(admission.refusal, DeadlinePassed)


async def test_an_anonymous_callers_passed_deadline_is_raised_to_the_floor(
    tmp_path: Path,
) -> None:
    guard = _guard(tmp_path)

    with deadlines.deadline_scope(0):
        admission = await guard.admit(
            authorization=None, method="GET", path="/api/users", client_ip="192.0.2.1"
        )

    assert admission.refusal is None
    assert admission.caller.is_anonymous
