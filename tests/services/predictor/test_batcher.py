"""KeyedBatcher in process, against a fake backend: scatter, isolation, admission, shutdown."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from predictor.batcher import AgentFailure, BatchKey, KeyedBatcher, KeyLimits, QueueFull

KEYS = [BatchKey("m1", "a"), BatchKey("m1", "b"), BatchKey("m2", "a")]


class FakeBackend:
    """Scores a row as the sum of its elements; records every batch; can be held."""

    def __init__(self) -> None:
        self.batches: list[tuple[BatchKey, list[list[float]]]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.in_flight = 0
        self.max_in_flight = 0
        self.started = asyncio.Event()
        self._changed = asyncio.Condition()
        self.rows_override: int | None = None
        self.fail_keys: set[BatchKey] = set()

    async def infer(self, key: BatchKey, rows: list[list[float]]) -> Sequence[float]:
        self.batches.append((key, rows))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self.started.set()
        async with self._changed:
            self._changed.notify_all()
        try:
            await self.gate.wait()
        finally:
            self.in_flight -= 1
        if key in self.fail_keys:
            raise RuntimeError("model crashed")
        outputs = [math.fsum(row) for row in rows]
        if self.rows_override is not None:
            return outputs[: self.rows_override]
        return outputs

    async def wait_in_flight(self, count: int) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: self.in_flight >= count)

    def rows_sent(self) -> list[list[float]]:
        return [row for _, rows in self.batches for row in rows]


# -- scatter correctness (property) ----------------------------------------------------

request_strategy = st.lists(
    st.tuples(
        st.integers(0, len(KEYS) - 1),
        st.lists(st.floats(-1, 1, allow_nan=False), min_size=0, max_size=3),
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    clients=st.lists(request_strategy, min_size=1, max_size=12),
    max_batch_size=st.integers(1, 8),
    max_concurrent=st.integers(1, 3),
    max_wait_ms=st.sampled_from([0.0, 1.0, 5.0]),
)
def test_every_agent_gets_the_sum_of_its_own_vector_and_batches_never_mix_keys(
    clients: list[list[tuple[int, list[float]]]],
    max_batch_size: int,
    max_concurrent: int,
    max_wait_ms: float,
) -> None:
    async def scenario() -> None:
        backend = FakeBackend()
        batcher = KeyedBatcher(
            backend.infer,
            defaults=KeyLimits(
                max_batch_size=max_batch_size,
                max_wait_ms=max_wait_ms,
                max_concurrent_batches=max_concurrent,
            ),
        )
        # A unique, large tag per agent: sums differ across agents, so any cross-talk shows.
        requests = [
            [(KEYS[k], [1000.0 * (c * 100 + i + 1), *tail]) for i, (k, tail) in enumerate(agents)]
            for c, agents in enumerate(clients)
        ]

        async def client(entries: list[tuple[BatchKey, list[float]]]) -> list[float]:
            return list(await asyncio.gather(*batcher.submit(entries)))

        outputs = await asyncio.gather(*(client(entries) for entries in requests))
        await batcher.aclose()

        for entries, got in zip(requests, outputs, strict=True):
            assert got == [math.fsum(vector) for _, vector in entries]
        key_of = {tuple(v): key for entries in requests for key, v in entries}
        for key, rows in backend.batches:
            assert {key_of[tuple(row)] for row in rows} == {key}
            assert len(rows) <= max_batch_size
            assert len({len(row) for row in rows}) == 1  # one matrix
        assert sorted(map(tuple, backend.rows_sent())) == sorted(key_of)  # each row once

    asyncio.run(scenario())


# -- isolation of failures -------------------------------------------------------------


async def test_wrong_row_count_fails_only_that_batch_and_the_key_keeps_serving() -> None:
    backend = FakeBackend()
    batcher = KeyedBatcher(backend.infer, defaults=KeyLimits(max_wait_ms=0))
    key = KEYS[0]
    backend.rows_override = 1
    first = batcher.submit([(key, [1.0]), (key, [2.0])])
    results = await asyncio.gather(*first, return_exceptions=True)
    backend.rows_override = None

    second = await asyncio.gather(*batcher.submit([(key, [3.0, 4.0])]))

    assert all(isinstance(r, AgentFailure) and r.code == "bad_backend_response" for r in results)
    assert second == [7.0]
    await batcher.aclose()


async def test_a_failing_batch_fails_its_agents_only() -> None:
    backend = FakeBackend()
    backend.fail_keys = {KEYS[1]}
    batcher = KeyedBatcher(backend.infer, defaults=KeyLimits(max_wait_ms=0))

    futures = batcher.submit([(KEYS[0], [1.0, 1.0]), (KEYS[1], [5.0]), (KEYS[2], [2.0])])
    results = await asyncio.gather(*futures, return_exceptions=True)

    assert results[0] == 2.0
    assert results[2] == 2.0
    assert isinstance(results[1], AgentFailure)
    assert results[1].code == "backend_error"
    assert await asyncio.gather(*batcher.submit([(KEYS[1], [1.0])]), return_exceptions=True)
    await batcher.aclose()


async def test_non_finite_outputs_fail_only_their_agents() -> None:
    async def infer(_key: BatchKey, rows: list[list[float]]) -> list[float]:
        return [math.nan if row[0] < 0 else row[0] for row in rows]

    batcher = KeyedBatcher(infer, defaults=KeyLimits(max_wait_ms=0))
    futures = batcher.submit([(KEYS[0], [-1.0]), (KEYS[0], [4.0])])  # one batch
    results = await asyncio.gather(*futures, return_exceptions=True)

    assert isinstance(results[0], AgentFailure)
    assert results[1] == 4.0
    await batcher.aclose()


async def test_a_row_failure_from_the_backend_reaches_only_its_agent() -> None:
    async def infer(_key: BatchKey, rows: list[list[float]]) -> list[float | AgentFailure]:
        return [AgentFailure("bad_input", "refused") if row[0] < 0 else row[0] for row in rows]

    batcher = KeyedBatcher(infer, defaults=KeyLimits(max_wait_ms=0))
    futures = batcher.submit([(KEYS[0], [-1.0]), (KEYS[0], [4.0])])  # one batch
    results = await asyncio.gather(*futures, return_exceptions=True)

    assert isinstance(results[0], AgentFailure)
    assert results[0].code == "bad_input"
    assert results[1] == 4.0
    await batcher.aclose()


# -- dropped before dispatch -----------------------------------------------------------


async def test_items_whose_deadline_passed_are_never_dispatched() -> None:
    backend = FakeBackend()
    batcher = KeyedBatcher(backend.infer, defaults=KeyLimits(max_wait_ms=0))

    expired = batcher.submit([(KEYS[0], [9.0])], deadline=time.monotonic() - 1)
    result = await asyncio.gather(*expired, return_exceptions=True)

    assert isinstance(result[0], AgentFailure)
    assert result[0].code == "deadline_exceeded"
    assert backend.batches == []
    assert batcher.queued() == 0
    await batcher.aclose()


async def test_cancelled_items_leave_the_queue_at_once_and_never_reach_the_backend() -> None:
    backend = FakeBackend()
    backend.gate.clear()
    batcher = KeyedBatcher(
        backend.infer, defaults=KeyLimits(max_wait_ms=0, max_concurrent_batches=1)
    )
    key = KEYS[0]
    holder = batcher.submit([(key, [1.0])])
    await backend.started.wait()  # the key's only slot is taken
    abandoned = batcher.submit([(key, [777.0])])
    assert batcher.queued(key) == 1

    abandoned[0].cancel()
    await asyncio.sleep(0)  # let the done-callback run (call_soon), not a timing wait

    assert batcher.queued(key) == 0
    backend.gate.set()
    assert await asyncio.gather(*holder, *batcher.submit([(key, [2.0])])) == [1.0, 2.0]
    assert [777.0] not in backend.rows_sent()
    await batcher.aclose()


# -- admission -------------------------------------------------------------------------


async def test_a_full_key_queue_refuses_the_whole_request_and_enqueues_nothing() -> None:
    backend = FakeBackend()
    backend.gate.clear()
    batcher = KeyedBatcher(
        backend.infer, defaults=KeyLimits(max_wait_ms=0, max_concurrent_batches=1, max_queue=3)
    )
    holder = batcher.submit([(KEYS[0], [1.0])])
    await backend.started.wait()
    waiting = batcher.submit([(KEYS[0], [2.0]), (KEYS[0], [3.0])])

    with pytest.raises(QueueFull) as refused:
        batcher.submit([(KEYS[1], [4.0]), (KEYS[0], [5.0]), (KEYS[0], [6.0])])

    assert refused.value.reason == "key_queue_full"
    assert refused.value.retry_after >= 1
    assert batcher.queued(KEYS[0]) == 2
    assert batcher.queued(KEYS[1]) == 0
    backend.gate.set()
    await asyncio.gather(*holder, *waiting)
    await batcher.aclose()


async def test_too_many_keys_and_a_full_global_queue_are_refused() -> None:
    backend = FakeBackend()
    backend.gate.clear()
    batcher = KeyedBatcher(
        backend.infer, defaults=KeyLimits(max_wait_ms=10_000), max_keys=2, max_queued_total=3
    )
    batcher.submit([(KEYS[0], [1.0]), (KEYS[1], [1.0])])

    with pytest.raises(QueueFull) as keys:
        batcher.submit([(KEYS[2], [1.0])])
    with pytest.raises(QueueFull) as total:
        batcher.submit([(KEYS[0], [1.0]), (KEYS[0], [2.0])])

    assert keys.value.reason == "too_many_keys"
    assert total.value.reason == "global_queue_full"
    await batcher.aclose(drain_s=0)


async def test_backend_calls_in_flight_never_exceed_the_global_cap() -> None:
    backend = FakeBackend()
    backend.gate.clear()
    batcher = KeyedBatcher(
        backend.infer,
        defaults=KeyLimits(max_batch_size=1, max_wait_ms=0, max_concurrent_batches=8),
        max_inflight_calls=2,
    )
    futures = batcher.submit([(key, [float(i)]) for i in range(4) for key in KEYS])
    await backend.wait_in_flight(2)
    for _ in range(20):  # every key loop gets turns to over-dispatch, if it could
        await asyncio.sleep(0)

    assert backend.in_flight == 2
    backend.gate.set()
    await asyncio.gather(*futures)
    assert backend.max_in_flight == 2
    await batcher.aclose()


# -- shutdown --------------------------------------------------------------------------


async def test_shutdown_fails_waiting_items_and_lets_batches_in_flight_finish() -> None:
    backend = FakeBackend()
    backend.gate.clear()
    batcher = KeyedBatcher(
        backend.infer, defaults=KeyLimits(max_wait_ms=0, max_concurrent_batches=1)
    )
    in_flight = batcher.submit([(KEYS[0], [1.0])])
    await backend.started.wait()
    waiting = batcher.submit([(KEYS[0], [2.0])])

    closing = asyncio.create_task(batcher.aclose(drain_s=5))
    await asyncio.sleep(0)
    backend.gate.set()
    await closing

    assert await in_flight[0] == 1.0
    failure = waiting[0].exception()
    assert isinstance(failure, AgentFailure)
    assert failure.code == "shutting_down"
    assert batcher.closed
