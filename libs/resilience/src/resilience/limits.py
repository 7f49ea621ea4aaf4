"""One endpoint's concurrency limit, learned from the order its answers come back in.

Why by hand: Netflix concurrency-limits (Vegas, Gradient2) has no Python port that
works per endpoint of an asyncio client, and its signal, the ratio of a no-load RTT to
the current RTT, is noise when the upstream's own latency is uniform over 0-999 ms. A
serialized upstream (one request at a time, FIFO, like the original remote) shows
itself more plainly: an answer never overtakes a request that was sent before it. So
the limit grows only on proof of parallelism (an overtake) and the rules are:

- `room()`: while an attempt is stuck (older than `stuck_after`) and no later attempt
  has overtaken it, the endpoint may be blocked behind it (a serialized replica in a
  stall), so it gets no new attempt (one probe at a time if it has ever shown it works
  side by side: its limit is above 1); otherwise a slot while
  fewer than `limit` attempts are in flight, or one probe past the limit;
- `done()`: an overtake grows the limit by one and shows the endpoint free; a probe
  that overtook nothing doubles the wait before the next probe; an answer that came
  late and right after the attempts it had been queued behind shows they were served
  one after another: the limit drops to how many were ahead (at most half, floor 1).
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from dataclasses import dataclass
from enum import Enum

from resilience.policy import ConcurrencyLimit

_RECENT = 512  # completion times kept for the queued-behind test


class Room(Enum):
    SLOT = "slot"
    PROBE = "probe"


@dataclass
class _InFlight:
    sent_at: float
    ahead: tuple[int, ...]  # attempts in flight on this endpoint when this one was sent
    probe: bool
    overtaken: bool = False  # a later attempt was answered first: nothing waits on this


class EndpointLimit:
    def __init__(self, config: ConcurrencyLimit) -> None:
        self.config = config
        self.limit = config.initial
        self._in_flight: dict[int, _InFlight] = {}
        self._ids = itertools.count()
        self._probe: int | None = None
        self._probe_interval = config.probe_interval
        self._next_probe_at = 0.0
        self._done_at: OrderedDict[int, float] = OrderedDict()

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    def blocked(self, now: float, *, stuck_after: float) -> bool:
        """An attempt is stuck and nothing shows that the endpoint works past it."""
        return any(
            now - a.sent_at >= stuck_after and not a.overtaken for a in self._in_flight.values()
        )

    def probe_at(self) -> float | None:
        """When a probe could next go out (None while one is out).

        Never within `reorder_tolerance` of the newest attempt: two requests sent at
        the same instant may be read by the endpoint in either order, and an answer
        that "overtakes" one sent a moment before it proves nothing.
        """
        if self._probe is not None:
            return None
        newest = max((a.sent_at for a in self._in_flight.values()), default=0.0)
        return max(self._next_probe_at, newest + self.config.reorder_tolerance)

    def room(self, now: float, *, stuck_after: float) -> Room | None:
        probe_at = self.probe_at()
        probe_due = probe_at is not None and now >= probe_at
        if self.blocked(now, stuck_after=stuck_after):
            # Only an endpoint that has worked side by side before may be asked whether
            # it still does; at limit 1 a probe would queue behind the stuck attempt.
            return Room.PROBE if probe_due and self.limit > 1 else None
        if len(self._in_flight) < self.limit:
            return Room.SLOT
        if probe_due and self.limit < self.config.max_limit:
            return Room.PROBE
        return None

    def sent(self, now: float, room: Room) -> int:
        """Record an attempt sent now; returns its id for `done()`."""
        attempt = next(self._ids)
        self._in_flight[attempt] = _InFlight(now, tuple(self._in_flight), room is Room.PROBE)
        if room is Room.PROBE:
            self._probe = attempt
        return attempt

    def done(self, attempt: int, now: float, *, answered: bool, stuck_after: float) -> None:
        """The attempt ended: `answered` if the endpoint sent a response."""
        record = self._in_flight.pop(attempt)
        tolerance = self.config.reorder_tolerance
        overtook = False
        if answered:
            for other in self._in_flight.values():
                if other.sent_at < record.sent_at - tolerance:
                    other.overtaken = overtook = True
        if overtook:
            self.limit = min(self.limit + 1, self.config.max_limit)
            self._probe_interval = self.config.probe_interval
        elif answered and record.ahead and now - record.sent_at > stuck_after:
            released = [self._done_at[a] for a in record.ahead if a in self._done_at]
            if len(released) == len(record.ahead) and now - max(released) <= stuck_after:
                # It was answered only once those ahead of it were: served one by one.
                self.limit = max(min(self.limit // 2, len(record.ahead)), 1)
        if record.probe:
            self._probe = None
            if not overtook:
                self._probe_interval = min(self._probe_interval * 2, self.config.max_probe_interval)
            self._next_probe_at = now + self._probe_interval
        self._done_at[attempt] = now
        while len(self._done_at) > _RECENT:
            self._done_at.popitem(last=False)
