"""The predictor and its mock backend as real processes on loopback (time-scaled)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.predictor import FAST_BACKEND, PredictorWithBackend, start_platform


@pytest.fixture(scope="package")
def fast_platform() -> Iterator[PredictorWithBackend]:
    """Defaults (64 per batch, 50 ms wait, 8 in flight) over a 50-100 ms backend."""
    platform = start_platform(FAST_BACKEND, {})
    try:
        yield platform
    finally:
        platform.predictor.stop()
        platform.backend.stop()


@pytest.fixture(scope="package")
def gated_platform() -> Iterator[PredictorWithBackend]:
    """One batch in flight per key, two agents queued per key, no wait: with the backend
    paused, a test holds a key's only slot and fills its queue deterministically."""
    platform = start_platform(
        FAST_BACKEND,
        {
            "PREDICTOR_MAX_CONCURRENT_BATCHES": "1",
            "PREDICTOR_MAX_QUEUE": "2",
            "PREDICTOR_MAX_WAIT_MS": "0",
        },
    )
    try:
        yield platform
    finally:
        platform.control("resume")
        platform.predictor.stop()
        platform.backend.stop()
