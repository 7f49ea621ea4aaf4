"""The remaining time budget of the current request, carried in a contextvar.

A server built with `observability.create_app` reads the inbound
`X-Request-Deadline-Ms` header (remaining milliseconds) into this contextvar; every
resilient call narrows its own timeouts to it and sends what is left to the next hop.
It lives here, with the calls that obey it, so the outbound-call library needs no web
framework. Deadlines are absolute
`time.monotonic()` values, so they survive awaits without drift.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar

DEADLINE_HEADER = "X-Request-Deadline-Ms"

_deadline: ContextVar[float | None] = ContextVar("request_deadline", default=None)


def current_deadline() -> float | None:
    """The absolute deadline (`time.monotonic()` seconds) in force, or None."""
    return _deadline.get()


def remaining() -> float | None:
    """Seconds left before the deadline in force (may be ≤ 0), or None if no deadline."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()


@contextlib.contextmanager
def deadline_scope(seconds: float | None) -> Iterator[float | None]:
    """Run a block under a deadline `seconds` from now, never extending an outer one.

    `None` keeps whatever deadline is in force. Yields the absolute deadline in force.
    """
    outer = _deadline.get()
    if seconds is None:
        yield outer
        return
    candidate = time.monotonic() + seconds
    effective = candidate if outer is None else min(outer, candidate)
    token = _deadline.set(effective)
    try:
        yield effective
    finally:
        _deadline.reset(token)


def at_least(seconds: float) -> None:
    """Push the deadline in force out to `seconds` from now if it is sooner.

    For a deadline nobody vouches for (an anonymous caller's header): honoured, but never
    so short that the caller makes the server fail its own requests. Lasts until the
    enclosing `deadline_scope` ends.
    """
    deadline = _deadline.get()
    floor = time.monotonic() + seconds
    if deadline is not None and deadline < floor:
        _deadline.set(floor)


def expired() -> bool:
    """True when a deadline is in force and has passed."""
    left = remaining()
    return left is not None and left <= 0


def parse_header(value: str | None) -> float | None:
    """Seconds from an `X-Request-Deadline-Ms` value; None when absent or malformed."""
    if value is None:
        return None
    try:
        millis = float(value)
    except ValueError:
        return None
    if millis != millis or millis in (float("inf"), float("-inf")):  # NaN / inf
        return None
    return max(millis, 0.0) / 1000.0


def header_value(seconds_left: float) -> str:
    """The header value (whole milliseconds, never negative) for `seconds_left`."""
    return str(max(int(seconds_left * 1000), 0))
