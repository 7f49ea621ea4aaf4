"""Dynamic batching by key: one queue per (model, agent type), several batches in flight.

Anchors: Triton's dynamic batcher (`max_queue_delay` counted from the oldest request,
preferred batch size, bounded queue), Ray Serve `@serve.batch` (`max_batch_size`,
`batch_wait_timeout_s`), Clipper's adaptive batching per model. What users of those ask
for and this adds: batching *by key* with lazily created queues, `max_concurrent_batches`
per key for I/O-bound backends plus a global cap on backend calls, bounded queues that
refuse work up front (`QueueFull`, all-or-nothing per request), items whose caller gave
up (cancelled) or whose deadline passed dropped before dispatch, and a key loop that no
bad item, backend answer or exception can kill.

Each caller gets one `asyncio.Future` per item; the batch's outputs are scattered back in
order. A batch holds items of one key and one vector length only (a matrix).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import math
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from predictor.metrics import BatcherMetrics, batcher_metrics
from resilience import deadlines

log = logging.getLogger("predictor.batcher")

MAX_RETRY_AFTER_S = 60


@dataclass(frozen=True, order=True)
class BatchKey:
    """What a batch shares: the model and the agent type."""

    model: str
    agent_type: str

    def __str__(self) -> str:
        return f"{self.model}/{self.agent_type}"


@dataclass(frozen=True)
class KeyLimits:
    """Batching knobs of one key. Defaults: 64 items, 50 ms, 8 batches in flight, 2048 queued.

    `max_wait_ms` counts from the oldest waiting item (Triton's `max_queue_delay`): a
    batch leaves when it is full or its oldest item has waited that long, as soon as one
    of the key's `max_concurrent_batches` slots (and a global backend slot) is free.
    """

    max_batch_size: int = 64
    max_wait_ms: float = 50.0
    max_concurrent_batches: int = 8
    max_queue: int = 2048

    def __post_init__(self) -> None:
        if self.max_batch_size < 1 or self.max_concurrent_batches < 1 or self.max_queue < 1:
            raise ValueError("batch size, concurrent batches and queue bound must be >= 1")
        if self.max_wait_ms < 0:
            raise ValueError("max_wait_ms must be >= 0")


class AgentFailure(Exception):
    """One item's failure, set on its future: `code` is stable, `detail` for humans."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


class QueueFull(Exception):
    """Admission refused (nothing was enqueued); retry after `retry_after` seconds."""

    def __init__(self, reason: str, retry_after: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class ShuttingDown(Exception):
    """The batcher is closed: no new work is accepted."""


# One output per row: a float, or that row's own failure (the others still succeed).
Infer = Callable[[BatchKey, list[list[float]]], Awaitable[Sequence[float | AgentFailure]]]
# Called with a model's name when its last queue is removed (idle).
ModelIdle = Callable[[str], Awaitable[None]]


@dataclass(eq=False)
class _Item:
    key: BatchKey
    vector: list[float]
    future: asyncio.Future[float]
    enqueued: float
    deadline: float | None
    queued: bool = True
    withdraw_reason: str = "cancelled"


@dataclass(eq=False)
class _KeyQueue:
    key: BatchKey
    limits: KeyLimits
    items: deque[_Item] = field(default_factory=deque)
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    slots: asyncio.Semaphore = field(init=False)
    inflight: int = 0
    mean_call_s: float | None = None
    task: asyncio.Task[None] | None = None
    gauge: Any = None

    def __post_init__(self) -> None:
        self.slots = asyncio.Semaphore(self.limits.max_concurrent_batches)


class KeyedBatcher:
    """Batches items per `BatchKey` and calls `infer(key, rows)` once per batch.

    `submit` enqueues a request's items all-or-nothing and returns their futures (result:
    the item's float; exception: `AgentFailure`). Cancel a future (or `withdraw` it) and
    its item leaves the queue at once, never reaching the backend. `infer` returning the
    wrong number of rows or raising fails that batch's items only. Defaults: `KeyLimits()`
    per key, 64 backend calls in flight overall, 32768 items queued overall, 256 keys
    (a key idle for `idle_s` = 300 s is removed, with every metric series it labels).
    Model names come from clients: `on_model_idle(model)` runs when a model's last key
    is removed, so whatever the caller keeps per model (a client) is bounded by
    `max_keys` too, not by every name ever sent.
    """

    def __init__(
        self,
        infer: Infer,
        *,
        defaults: KeyLimits | None = None,
        overrides: Mapping[BatchKey, KeyLimits] | None = None,
        max_inflight_calls: int = 64,
        max_queued_total: int = 32768,
        max_keys: int = 256,
        idle_s: float = 300.0,
        retry_after_s: int = 1,
        metrics: BatcherMetrics | None = None,
        on_model_idle: ModelIdle | None = None,
    ) -> None:
        self._infer = infer
        self._defaults = defaults or KeyLimits()
        self._overrides = dict(overrides or {})
        self._inflight = asyncio.Semaphore(max_inflight_calls)
        self._max_queued_total = max_queued_total
        self._max_keys = max_keys
        self._idle_s = idle_s
        self._retry_after_s = retry_after_s
        self._metrics = metrics or batcher_metrics()
        self._on_model_idle = on_model_idle
        self._queues: dict[BatchKey, _KeyQueue] = {}
        self._items: dict[asyncio.Future[float], _Item] = {}
        self._batches: set[asyncio.Task[None]] = set()
        self._queued_total = 0
        self._closed = False

    # -- introspection ------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._closed

    def limits_for(self, key: BatchKey) -> KeyLimits:
        return self._overrides.get(key, self._defaults)

    def queued(self, key: BatchKey | None = None) -> int:
        """Items waiting (not yet dispatched) for `key`, or for every key."""
        if key is None:
            return self._queued_total
        queue = self._queues.get(key)
        return len(queue.items) if queue else 0

    def keys(self) -> list[BatchKey]:
        return sorted(self._queues)

    # -- admission ----------------------------------------------------------------
    def submit(
        self, entries: Sequence[tuple[BatchKey, list[float]]], *, deadline: float | None = None
    ) -> list[asyncio.Future[float]]:
        """Enqueue every entry or none; one future per entry, in order.

        `deadline` is an absolute `time.monotonic()` value: items still queued then are
        dropped with `AgentFailure("deadline_exceeded")`. Raises `QueueFull` (per-key or
        global bound, or too many keys) or `ShuttingDown`.
        """
        if self._closed:
            raise ShuttingDown("the predictor is shutting down")
        wanted = Counter(key for key, _ in entries)
        new_keys = [key for key in wanted if key not in self._queues]
        if len(self._queues) + len(new_keys) > self._max_keys:
            self._reject("too_many_keys", len(entries))
        if self._queued_total + len(entries) > self._max_queued_total:
            self._reject("global_queue_full", len(entries))
        for key, count in wanted.items():
            if self.queued(key) + count > self.limits_for(key).max_queue:
                self._reject("key_queue_full", len(entries), self._queues.get(key))
        loop = asyncio.get_running_loop()
        now = time.monotonic()
        futures: list[asyncio.Future[float]] = []
        touched: set[_KeyQueue] = set()
        for key, vector in entries:
            queue = self._queues.get(key) or self._open(key)
            future: asyncio.Future[float] = loop.create_future()
            item = _Item(key, vector, future, now, deadline)
            self._items[future] = item
            future.add_done_callback(self._on_done)
            queue.items.append(item)
            touched.add(queue)
            futures.append(future)
        self._queued_total += len(entries)
        for queue in touched:
            queue.gauge.set(len(queue.items))
            queue.wakeup.set()
        return futures

    def withdraw(self, futures: Sequence[asyncio.Future[float]], *, reason: str) -> None:
        """Give up on these items (e.g. reason "expired"): queued ones never dispatch."""
        for future in futures:
            item = self._items.get(future)
            if item is not None:
                item.withdraw_reason = reason
            future.cancel()

    def _reject(self, reason: str, count: int, queue: _KeyQueue | None = None) -> None:
        self._metrics.rejected.labels(reason).inc(count)
        raise QueueFull(reason, self._retry_after(queue))

    def _retry_after(self, queue: _KeyQueue | None) -> int:
        """Time for the key's queue to drain at its current pace, at least the floor."""
        if queue is None or queue.mean_call_s is None:
            return self._retry_after_s
        per_round = queue.limits.max_batch_size * queue.limits.max_concurrent_batches
        rounds = math.ceil(len(queue.items) / per_round)
        estimate = math.ceil(rounds * queue.mean_call_s)
        return max(self._retry_after_s, min(estimate, MAX_RETRY_AFTER_S))

    def _open(self, key: BatchKey) -> _KeyQueue:
        queue = _KeyQueue(key, self.limits_for(key))
        queue.gauge = self._metrics.queue_length.labels(key.model, key.agent_type)
        self._queues[key] = queue
        # A fresh context: the loop outlives the request that created it and must not
        # inherit its deadline, request id or trace.
        queue.task = asyncio.create_task(
            self._run(queue), name=f"batcher:{key}", context=contextvars.Context()
        )
        return queue

    def _on_done(self, future: asyncio.Future[float]) -> None:
        item = self._items.pop(future, None)
        if item is None or not item.queued or not future.cancelled():
            return
        queue = self._queues.get(item.key)
        item.queued = False
        self._queued_total -= 1
        if queue is not None:
            with contextlib.suppress(ValueError):
                queue.items.remove(item)
            queue.gauge.set(len(queue.items))
        self._metrics.dropped.labels(
            item.key.model, item.key.agent_type, item.withdraw_reason
        ).inc()

    # -- the key loop -------------------------------------------------------------
    async def _run(self, queue: _KeyQueue) -> None:
        while True:
            try:
                if not await self._wait_for_items(queue):
                    return
                await self._wait_until_ready(queue)
                if not queue.items:
                    continue
                await queue.slots.acquire()
                try:
                    await self._inflight.acquire()
                except BaseException:
                    queue.slots.release()
                    raise
                batch = self._take(queue)
                if not batch:
                    self._inflight.release()
                    queue.slots.release()
                    continue
                task = asyncio.create_task(self._dispatch(queue, batch))
                self._batches.add(task)
                task.add_done_callback(self._batches.discard)
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug must not silence the key: log it and go on
                log.exception("batcher loop error", extra={"key": str(queue.key)})
                await asyncio.sleep(0)

    async def _wait_for_items(self, queue: _KeyQueue) -> bool:
        """True once items wait; False when the key stayed idle and was removed."""
        while not queue.items:
            queue.wakeup.clear()
            try:
                async with asyncio.timeout(self._idle_s):
                    await queue.wakeup.wait()
            except TimeoutError:
                if not queue.items and queue.inflight == 0:
                    await self._remove(queue)
                    return False
        return True

    async def _wait_until_ready(self, queue: _KeyQueue) -> None:
        """Until the batch is full or its oldest item has waited `max_wait_ms`."""
        limits = queue.limits
        while queue.items and len(queue.items) < limits.max_batch_size:
            left = queue.items[0].enqueued + limits.max_wait_ms / 1000 - time.monotonic()
            if left <= 0:
                return
            queue.wakeup.clear()
            try:
                async with asyncio.timeout(left):
                    await queue.wakeup.wait()
            except TimeoutError:
                return

    def _take(self, queue: _KeyQueue) -> list[_Item]:
        """Up to max_batch_size live items of the oldest item's vector length, FIFO."""
        now = time.monotonic()
        batch: list[_Item] = []
        skipped: list[_Item] = []
        dimension: int | None = None
        model, agent_type = queue.key.model, queue.key.agent_type
        while queue.items and len(batch) < queue.limits.max_batch_size:
            item = queue.items.popleft()
            if item.future.done():  # cancelled, its callback not yet run
                item.queued = False
                self._queued_total -= 1
                self._metrics.dropped.labels(model, agent_type, item.withdraw_reason).inc()
                continue
            if item.deadline is not None and item.deadline <= now:
                item.queued = False
                self._queued_total -= 1
                item.future.set_exception(AgentFailure("deadline_exceeded", "expired in queue"))
                self._metrics.dropped.labels(model, agent_type, "expired").inc()
                continue
            if dimension is None:
                dimension = len(item.vector)
            if len(item.vector) != dimension:
                skipped.append(item)  # next batch: a batch is one matrix
                continue
            item.queued = False
            self._queued_total -= 1
            batch.append(item)
        queue.items.extendleft(reversed(skipped))
        queue.gauge.set(len(queue.items))
        return batch

    async def _dispatch(self, queue: _KeyQueue, batch: list[_Item]) -> None:
        key, limits, metrics = queue.key, queue.limits, self._metrics
        labels = (key.model, key.agent_type)
        started = time.monotonic()
        observe_wait = metrics.queue_wait.labels(*labels).observe
        for item in batch:
            observe_wait(started - item.enqueued)
        metrics.batch_size.labels(*labels).observe(len(batch))
        metrics.batch_utilisation.labels(*labels).observe(len(batch) / limits.max_batch_size)
        queue.inflight += 1
        metrics.inflight_batches.labels(*labels).set(queue.inflight)
        outcome = "success"
        # The batch is worth finishing while any of its callers still waits.
        item_deadlines = [item.deadline for item in batch]
        budget = (
            None
            if any(d is None for d in item_deadlines)
            else max(d for d in item_deadlines if d is not None) - started
        )
        try:
            with deadlines.deadline_scope(budget):
                outputs = list(await self._infer(key, [item.vector for item in batch]))
            if len(outputs) != len(batch):
                raise AgentFailure(
                    "bad_backend_response",
                    f"the backend returned {len(outputs)} rows for {len(batch)}",
                )
            for item, output in zip(batch, outputs, strict=True):
                self._deliver(item, output)
        except AgentFailure as failure:
            outcome = failure.code
            self._fail(batch, failure)
        except asyncio.CancelledError:
            outcome = "shutting_down"
            self._fail(batch, AgentFailure("shutting_down", "the predictor stopped"))
            raise
        except Exception as error:  # the batch fails, never the loop
            outcome = "backend_error"
            log.exception("batch failed", extra={"key": str(key)})
            self._fail(batch, AgentFailure("backend_error", type(error).__name__))
        finally:
            elapsed = time.monotonic() - started
            if outcome == "success":
                previous = queue.mean_call_s
                queue.mean_call_s = elapsed if previous is None else 0.8 * previous + 0.2 * elapsed
            metrics.backend_call.labels(*labels, outcome).observe(elapsed)
            queue.inflight -= 1
            metrics.inflight_batches.labels(*labels).set(queue.inflight)
            self._inflight.release()
            queue.slots.release()

    def _deliver(self, item: _Item, output: object) -> None:
        if item.future.done():
            return
        if isinstance(output, AgentFailure):
            self._metrics.failed.labels(item.key.model, item.key.agent_type, output.code).inc()
            item.future.set_exception(output)
            return
        if isinstance(output, int | float) and not isinstance(output, bool):
            value = float(output)
            if math.isfinite(value):
                item.future.set_result(value)
                return
        failure = AgentFailure("bad_backend_response", "the backend returned a non-finite output")
        item.future.set_exception(failure)

    def _fail(self, batch: list[_Item], failure: AgentFailure) -> None:
        key = batch[0].key
        self._metrics.failed.labels(key.model, key.agent_type, failure.code).inc(len(batch))
        for item in batch:
            if not item.future.done():
                item.future.set_exception(AgentFailure(failure.code, failure.detail))

    async def _remove(self, queue: _KeyQueue) -> None:
        """Forget an idle key: its queue, every series it labels and, when it was the
        model's last key, what the caller keeps for the model (`on_model_idle`)."""
        key = queue.key
        self._queues.pop(key, None)
        self._metrics.remove_key(key.model, key.agent_type)
        if self._on_model_idle is not None and all(k.model != key.model for k in self._queues):
            await self._on_model_idle(key.model)

    # -- shutdown -----------------------------------------------------------------
    async def aclose(self, *, drain_s: float = 10.0) -> None:
        """Refuse new work, fail queued items (`shutting_down`), give batches in flight
        up to `drain_s` to finish, then cancel them (their items fail the same way)."""
        self._closed = True
        loops = [queue.task for queue in self._queues.values() if queue.task is not None]
        for task in loops:
            task.cancel()
        for queue in list(self._queues.values()):
            while queue.items:
                item = queue.items.popleft()
                item.queued = False
                self._queued_total -= 1
                if not item.future.done():
                    item.future.set_exception(AgentFailure("shutting_down", "not dispatched"))
                    self._metrics.dropped.labels(
                        item.key.model, item.key.agent_type, "shutdown"
                    ).inc()
            queue.gauge.set(0)
        await asyncio.gather(*loops, return_exceptions=True)
        if self._batches:
            _, pending = await asyncio.wait(set(self._batches), timeout=drain_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
