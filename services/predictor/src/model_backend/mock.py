"""The mock models: outputs are row sums, after a simulated latency (no HTTP here).

One call takes a uniform `latency_min..latency_max` whatever the number of rows, as a GPU
runs a batch of 64 about as fast as a batch of 1. Optional failure rates (every model or
per model) and an optional per-model concurrency limit (a model server runs a bounded
number of batches at once). Outputs are deterministic, so every scatter can be checked.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections import Counter

from model_backend.models import Stats
from model_backend.settings import Settings


class NotAMatrix(Exception):
    """The call's rows do not all have one length."""


class SimulatedFailure(Exception):
    """The model failed this call on purpose (`failure_rate`, `failure_rates`)."""


class RowsRejected(Exception):
    """These rows (indices in the call's inputs) have no finite output."""

    def __init__(self, rows: list[int]) -> None:
        super().__init__("these rows have no finite output")
        self.rows = rows


class MockModels:
    """The mock's state: counters, per-model limits and the random source."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.rng = random.Random(settings.seed)  # noqa: S311 - simulated latency
        self.calls = 0
        self.rows = 0
        self.failures = 0
        self.max_rows = 0
        self.in_flight = 0
        self.calls_by_key: Counter[str] = Counter()
        self.rows_by_key: Counter[str] = Counter()
        self._limits: dict[str, asyncio.Semaphore] = {}
        self._gate = asyncio.Event()  # cleared by pause(): calls wait (tests)
        self._gate.set()

    def _limit(self, model: str) -> asyncio.Semaphore | None:
        if self.settings.max_concurrency <= 0:
            return None
        if model not in self._limits:
            self._limits[model] = asyncio.Semaphore(self.settings.max_concurrency)
        return self._limits[model]

    def pause(self) -> None:
        """Hold every call (counted on arrival) until `resume`: tests keep a batch in
        flight for as long as they need, without racing a timer."""
        self._gate.clear()

    def resume(self) -> None:
        self._gate.set()

    async def infer(self, model: str, agent_type: str, inputs: list[list[float]]) -> list[float]:
        """One output per row. Raises `NotAMatrix`, `SimulatedFailure`, `RowsRejected`."""
        if len({len(row) for row in inputs}) > 1:
            raise NotAMatrix("inputs must be a matrix (rows of one length)")
        key = f"{model}/{agent_type}"
        self.calls += 1
        self.rows += len(inputs)
        self.max_rows = max(self.max_rows, len(inputs))
        self.calls_by_key[key] += 1
        self.rows_by_key[key] += len(inputs)
        await self._gate.wait()
        limit = self._limit(model)
        if limit is not None:
            await limit.acquire()
        self.in_flight += 1
        try:
            low, high = self.settings.latency_min, self.settings.latency_max
            await asyncio.sleep(self.rng.uniform(low, max(low, high)))
        finally:
            self.in_flight -= 1
            if limit is not None:
                limit.release()
        rate = self.settings.failure_rates.get(model, self.settings.failure_rate)
        if rate > 0 and self.rng.random() < rate:
            self.failures += 1
            raise SimulatedFailure(f"model {model} failed (simulated)")
        outputs, rejected = [], []
        for index, row in enumerate(inputs):
            try:
                output = math.fsum(row)
            except OverflowError:  # finite elements, a sum beyond a float's range
                output = math.inf
            outputs.append(output)
            if not math.isfinite(output):
                rejected.append(index)
        if rejected:
            # The batch's other rows are fine: naming the bad ones lets the caller fail
            # only those and send the rest again.
            raise RowsRejected(rejected)
        return outputs

    def stats(self) -> Stats:
        return Stats(
            calls=self.calls,
            rows=self.rows,
            failures=self.failures,
            max_rows=self.max_rows,
            in_flight=self.in_flight,
            calls_by_key=dict(self.calls_by_key),
            rows_by_key=dict(self.rows_by_key),
        )
