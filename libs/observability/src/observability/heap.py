"""The cyclic garbage collector, tuned for a server that holds many requests at once.

CPython 3.11's defaults (thresholds 700, 10, 10) suit a short script. A server that
keeps a thousand requests in flight for seconds (the predictor's callers wait a whole
backend round) promotes every one of them to the old generation, and each full
collection then walks every live object while the event loop stands still: measured
under `bench/predictor_load.py`, 17 full collections of ~180 ms each in 23 s, plus
gen-1 passes, ~16 % of the wall clock with nothing answered. Two standard remedies:

- `gc.freeze()` once the app is built: what import and start-up made (modules,
  classes, the app and its routes; ~100,000 objects here) lives as long as the
  process, so it goes to the permanent generation and no later collection walks it.
- Larger thresholds (`THRESHOLDS`): a young collection every 10,000 net allocations
  instead of 700, so a request in flight is not promoted before it ends; the old
  generations are collected 20 times less often than that, still bounded (and CPython
  still skips a full collection until a quarter of the old objects are new).

Reference cycles are still collected, only in fewer, larger passes; every object
made after start-up is still a candidate.
"""

from __future__ import annotations

import gc

THRESHOLDS = (10_000, 20, 20)


def settle_after_startup() -> None:
    """Collect what start-up left over, freeze the rest, raise the thresholds. Call once
    per server process, after the app is built and before it serves (`serve` does)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
