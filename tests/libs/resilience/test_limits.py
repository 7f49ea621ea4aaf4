"""The per-endpoint concurrency limit, on a controllable clock (no servers, no sleeps)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from resilience import ConcurrencyLimit
from resilience.limits import EndpointLimit, Room

STUCK = 0.1  # the "stuck after" threshold handed in by the client


def _limit(**options: object) -> EndpointLimit:
    return EndpointLimit(ConcurrencyLimit(**options))  # type: ignore[arg-type]


@given(latencies=st.lists(st.floats(min_value=0.0, max_value=0.05), min_size=1, max_size=60))
def test_a_serialized_endpoint_never_grows_its_limit(latencies: list[float]) -> None:
    # FIFO answers, one after the other: each later attempt ends after the earlier one.
    limit = _limit()
    now = 0.0
    for latency in latencies:
        first = limit.sent(now, limit.room(now, stuck_after=STUCK) or Room.PROBE)
        second = limit.sent(now + 0.01, Room.PROBE)
        now += 0.01 + latency
        limit.done(first, now, answered=True, stuck_after=STUCK)
        now += latency
        limit.done(second, now, answered=True, stuck_after=STUCK)

    assert limit.limit == 1


def test_an_answer_that_overtakes_an_earlier_attempt_grows_the_limit() -> None:
    limit = _limit()
    limit.sent(0.0, Room.SLOT)  # slow: still in flight
    fast = limit.sent(0.01, Room.PROBE)

    limit.done(fast, 0.02, answered=True, stuck_after=STUCK)

    assert limit.limit == 2
    assert limit.in_flight == 1


def test_an_endpoint_with_a_stuck_attempt_at_limit_one_has_no_room() -> None:
    limit = _limit()
    limit.sent(0.0, Room.SLOT)

    assert limit.room(STUCK * 0.5, stuck_after=STUCK) is Room.PROBE  # young: one probe
    assert limit.room(STUCK * 2, stuck_after=STUCK) is None  # stuck: nothing


def test_a_stuck_attempt_blocks_even_below_the_limit_until_something_overtakes_it() -> None:
    limit = _limit(initial=4)
    limit.sent(0.0, Room.SLOT)  # stuck from here on
    assert limit.room(1.0, stuck_after=STUCK) is Room.PROBE  # blocked: only a probe

    probe = limit.sent(1.0, Room.PROBE)
    limit.done(probe, 1.01, answered=True, stuck_after=STUCK)  # answered past the stuck one

    assert limit.room(1.02, stuck_after=STUCK) is Room.SLOT


def test_answers_queued_behind_a_stall_bring_the_limit_down_to_one() -> None:
    limit = _limit(initial=8)
    stall = limit.sent(0.0, Room.SLOT)
    queued = limit.sent(0.01, Room.SLOT)  # sent before the stall was visible

    limit.done(stall, 3.0, answered=True, stuck_after=STUCK)
    limit.done(queued, 3.005, answered=True, stuck_after=STUCK)  # right after it: it waited

    assert limit.limit == 1


def test_a_late_answer_long_after_those_ahead_of_it_keeps_the_limit() -> None:
    limit = _limit(initial=8)
    quick = limit.sent(0.0, Room.SLOT)
    stalled_itself = limit.sent(0.001, Room.SLOT)

    limit.done(quick, 0.01, answered=True, stuck_after=STUCK)
    limit.done(stalled_itself, 3.0, answered=True, stuck_after=STUCK)  # its own stall

    assert limit.limit == 8


def test_a_probe_that_overtakes_nothing_doubles_the_wait_before_the_next() -> None:
    limit = _limit(probe_interval=0.05, max_probe_interval=10.0)
    first = limit.sent(0.0, Room.SLOT)
    probe = limit.sent(0.001, Room.PROBE)
    limit.done(first, 0.01, answered=True, stuck_after=STUCK)
    limit.done(probe, 0.02, answered=True, stuck_after=STUCK)
    limit.sent(0.03, Room.SLOT)

    assert limit.room(0.02 + 0.09, stuck_after=STUCK) is None  # 0.1 s not yet over
    assert limit.room(0.02 + 0.1, stuck_after=1.0) is Room.PROBE
