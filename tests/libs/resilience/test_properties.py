"""Property tests of the policy state machines, on a controllable clock."""

from __future__ import annotations

import random

from hypothesis import example, given, settings
from hypothesis import strategies as st

from resilience import Breaker, Ejection, FullJitter, RetryBudget
from resilience.balancer import Balancer
from resilience.breaker import BreakerState, CircuitBreaker
from resilience.budget import RetryBudgetState


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@given(
    base=st.floats(min_value=0, max_value=5),
    cap=st.floats(min_value=0, max_value=30),
    retry_number=st.integers(min_value=1, max_value=200),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_full_jitter_backoff_stays_within_zero_and_cap(
    base: float, cap: float, retry_number: int, seed: int
) -> None:
    delay = FullJitter(base=base, cap=cap).delay(retry_number, random.Random(seed))

    assert 0.0 <= delay <= cap


@settings(max_examples=60)
@given(
    ratio=st.floats(min_value=0.0, max_value=1.0),
    min_per_s=st.floats(min_value=0.0, max_value=5.0),
    events=st.lists(
        st.tuples(st.floats(min_value=0.0, max_value=0.7), st.booleans(), st.integers(1, 5)),
        min_size=1,
        max_size=300,
    ),
)
def test_budget_never_grants_more_than_ratio_of_requests_plus_floor_in_any_window(
    ratio: float, min_per_s: float, events: list[tuple[float, bool, int]]
) -> None:
    config = RetryBudget(ratio=ratio, min_per_s=min_per_s, window_s=2.0)
    clock = FakeClock()
    budget = RetryBudgetState(config, clock)
    requests: list[float] = []
    retries: list[float] = []

    for step, is_request, repeat in events:
        clock.now += step
        for _ in range(repeat):
            if is_request:
                budget.record_request()
                requests.append(clock.now)
            elif budget.try_retry():
                retries.append(clock.now)
                # Check every window ending now: (t - W, t].
                start = clock.now - config.window_s
                in_window_requests = sum(1 for t in requests if t > start)
                in_window_retries = sum(1 for t in retries if t > start)
                allowed = ratio * in_window_requests + min_per_s * config.window_s
                assert in_window_retries <= allowed + 1e-9


@settings(max_examples=80)
@given(
    script=st.lists(
        st.one_of(
            st.tuples(st.just("acquire"), st.just(0.0)),
            st.tuples(st.just("succeed"), st.just(0.0)),
            st.tuples(st.just("fail"), st.just(0.0)),
            st.tuples(st.just("wait"), st.floats(min_value=0.0, max_value=3.0)),
        ),
        max_size=200,
    ),
    probes=st.integers(min_value=1, max_value=4),
)
# Always reaches half-open and asks for one probe too many (random scripts rarely do).
@example(
    script=[("acquire", 0.0)] * 4 + [("fail", 0.0)] * 4 + [("wait", 2.0)] + [("acquire", 0.0)] * 3,
    probes=2,
)
def test_breaker_invariants_hold_for_any_sequence(
    script: list[tuple[str, float]], probes: int
) -> None:
    """An open breaker admits nothing for `open_for`; half-open, it admits at most
    `half_open_probes` calls beyond the outcomes recorded since it half-opened, and
    admits one whenever fewer are out (observed through try_acquire, allows and the
    transitions it reports)."""
    clock = FakeClock()
    config = Breaker(
        window=10, failure_rate=0.5, min_calls=4, open_for=1.0, half_open_probes=probes
    )
    opened_at = 0.0
    probes_out = 0  # half-open permits granted and not yet answered by a recorded outcome

    def on_transition(old: BreakerState, new: BreakerState) -> None:
        nonlocal opened_at, probes_out
        if new is BreakerState.OPEN:
            opened_at = clock.now
        if new is BreakerState.HALF_OPEN:
            probes_out = 0

    breaker = CircuitBreaker(config, clock=clock, slow_after=5.0, on_transition=on_transition)
    in_flight = 0

    for action, value in script:
        if action == "wait":
            clock.now += value
        elif action == "acquire":
            opened_recently = (
                breaker.state is BreakerState.OPEN and clock.now - opened_at < config.open_for
            )
            granted = breaker.try_acquire()
            if opened_recently:
                assert not granted, "an open breaker let a call through"
            if granted:
                in_flight += 1
                if breaker.state is BreakerState.HALF_OPEN:
                    probes_out += 1
        elif in_flight > 0:
            in_flight -= 1
            if breaker.state is BreakerState.HALF_OPEN:
                probes_out = max(probes_out - 1, 0)
            breaker.record(success=action == "succeed", duration=0.01)
        if breaker.state is BreakerState.HALF_OPEN:
            assert probes_out <= probes, "a half-open breaker let too many probes through"
            assert breaker.allows() == (probes_out < probes)


def test_breaker_opens_on_failure_rate_then_recovers_through_half_open() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(
        Breaker(window=10, failure_rate=0.5, min_calls=4, open_for=2.0, half_open_probes=2),
        clock=clock,
        slow_after=1.0,
    )
    for _ in range(4):
        assert breaker.try_acquire()
        breaker.record(success=False, duration=0.01)
    assert breaker.state is BreakerState.OPEN
    assert not breaker.try_acquire()

    clock.now += 2.0
    assert breaker.try_acquire()
    assert breaker.try_acquire()
    assert not breaker.try_acquire()  # only two probes at once
    breaker.record(success=True, duration=0.01)
    breaker.record(success=True, duration=0.01)

    assert breaker.state is BreakerState.CLOSED


def test_slow_calls_open_the_breaker() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(
        Breaker(window=10, slow_call=0.9, min_calls=5), clock=clock, slow_after=0.5
    )
    for _ in range(5):
        breaker.try_acquire()
        breaker.record(success=True, duration=0.6)

    assert breaker.state is BreakerState.OPEN


def test_an_endpoint_shedding_with_429s_looks_slow_but_is_never_ejected() -> None:
    clock = FakeClock()
    balancer = Balancer(
        ["http://a", "http://b"],
        ejection=Ejection(consecutive_failures=2),
        limit=None,
        clock=clock,
        rng=random.Random(1),
    )
    shedding, serving = balancer.endpoints

    for _ in range(10):
        balancer.observe(shedding, latency=0.001, failure=False, shed=True)
        balancer.observe(serving, latency=0.001, failure=False)
        clock.now += 0.1

    assert [endpoint.url for endpoint in balancer.available()] == ["http://a", "http://b"]
    assert shedding.ewma > serving.ewma
