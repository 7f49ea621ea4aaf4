"""A request's agents: validated, split over the key queues, gathered back by id.

Partial-failure policy: each agent gets its output or its own `AgentFailure`; the
caller (api.py) answers 200 unless every agent failed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass

from predictor.batcher import AgentFailure, BatchKey, KeyedBatcher
from resilience import deadlines


@dataclass(frozen=True)
class AgentInput:
    vector: list[float]
    model: str
    agent_type: str

    @property
    def key(self) -> BatchKey:
        return BatchKey(self.model, self.agent_type)


class DimensionMismatch(Exception):
    """Agents of one (model, agent type) in one request have vectors of different lengths."""

    def __init__(self, key: BatchKey, lengths: Mapping[str, int]) -> None:
        super().__init__(f"vectors for {key} must share one length")
        self.key = key
        self.lengths = dict(lengths)


AgentOutcome = float | AgentFailure


class PredictionService:
    def __init__(self, batcher: KeyedBatcher) -> None:
        self.batcher = batcher

    async def predict(self, agents: Mapping[str, AgentInput]) -> dict[str, AgentOutcome]:
        """Every agent's output or failure. Raises `DimensionMismatch` (nothing queued),
        `QueueFull` / `ShuttingDown` from admission. Cancelling this coroutine (the client
        went away) withdraws its queued agents: they never reach the backend."""
        check_dimensions(agents)
        ids = list(agents)
        deadline = deadlines.current_deadline()
        futures = self.batcher.submit(
            [(agents[agent_id].key, agents[agent_id].vector) for agent_id in ids],
            deadline=deadline,
        )
        try:
            timeout = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            _, pending = await asyncio.wait(futures, timeout=timeout)
        except asyncio.CancelledError:
            self.batcher.withdraw(futures, reason="cancelled")
            raise
        self.batcher.withdraw(list(pending), reason="expired")
        results: dict[str, AgentOutcome] = {}
        for agent_id, future in zip(ids, futures, strict=True):
            if future in pending or future.cancelled():
                results[agent_id] = AgentFailure("deadline_exceeded", "the deadline passed")
                continue
            error = future.exception()
            results[agent_id] = future.result() if error is None else _as_failure(error)
        return results


def check_dimensions(agents: Mapping[str, AgentInput]) -> None:
    by_key: dict[BatchKey, dict[str, int]] = {}
    for agent_id, agent in agents.items():
        by_key.setdefault(agent.key, {})[agent_id] = len(agent.vector)
    for key, lengths in by_key.items():
        if len(set(lengths.values())) > 1:
            raise DimensionMismatch(key, lengths)


def _as_failure(error: BaseException) -> AgentFailure:
    if isinstance(error, AgentFailure):
        return error
    return AgentFailure("backend_error", type(error).__name__)
