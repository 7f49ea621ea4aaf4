"""Calls to the model backends: `POST /v1/models/{model}/infer`, through `resilience`.

One `ResilientClient` per model (created on first use, closed by `release` when the
batcher drops the model's last idle queue), over that model's replicas
(`PREDICTOR_MODEL_ROUTES`, else `PREDICTOR_BACKEND_URLS`): a model that fails opens
only its own breakers, never those of the healthy models served by the same replicas.
Model names come from clients, so the clients are bounded by the batcher's `max_keys`.
Inference is a pure function of its inputs, so calls are retried (connect errors,
429/502/503/504) within the retry budget; never hedged — a duplicate 3-7 s batch would
double the backend's load for little gain.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import httpx

from predictor.batcher import AgentFailure, BatchKey
from predictor.settings import Settings
from resilience import (
    Breaker,
    Bulkhead,
    CircuitOpenError,
    ConcurrencyLimit,
    DeadlineExceededError,
    FullJitter,
    Policy,
    ResilienceError,
    ResilientClient,
    Retry,
    Timeout,
)


def backend_policy(settings: Settings) -> Policy:
    """Per-try and total timeouts sized for 3-7 s calls; breaker per replica and model."""
    return Policy(
        timeout=Timeout(per_try=settings.backend_attempt_s, total=settings.backend_total_s),
        retry=Retry(attempts=settings.backend_attempts, backoff=FullJitter(base=0.05, cap=0.5)),
        breaker=Breaker(window=30.0, failure_rate=0.5, min_calls=20, open_for=5.0),
        # The batcher already caps calls in flight; this only bounds a misuse.
        bulkhead=Bulkhead(max_concurrent=settings.max_inflight_calls, max_wait=1.0),
        hedge=None,
        # Backend calls take about the same time whatever the batch, so answers rarely
        # overtake one another: start at the batcher's cap; only queueing lowers it.
        limit=ConcurrencyLimit(
            initial=settings.max_inflight_calls, max_limit=settings.max_inflight_calls
        ),
    )


MAX_ROUNDS = 3  # a batch, then its rows the backend did not reject, then once more


class _RowsRejected(Exception):
    """The backend refused these rows (positions in the call's `inputs`)."""

    def __init__(self, rows: set[int], detail: str) -> None:
        super().__init__(detail)
        self.rows = rows
        self.detail = detail


def _rejection(response: httpx.Response, count: int) -> Exception:
    """A backend 422: the rows it names, or the only row; a batch refused without
    naming rows fails as a whole (no row can be told apart from the others)."""
    try:
        problem = response.json()
    except ValueError:
        problem = {}
    named = problem.get("rows") if isinstance(problem, dict) else None
    detail = str(problem.get("detail") or "the backend rejected this input")
    rows = (
        {row for row in named if isinstance(row, int) and 0 <= row < count}
        if isinstance(named, list)
        else set()
    )
    if not rows and count == 1:
        rows = {0}
    if not rows:
        return AgentFailure("backend_error", "the backend rejected the batch (422, no rows named)")
    return _RowsRejected(rows, detail)


class BackendClient:
    """`infer(key, rows)` → one float (or a row's own `AgentFailure`) per row, or
    `AgentFailure` for the whole batch."""

    def __init__(
        self,
        endpoints: Sequence[str],
        *,
        routes: Mapping[str, Sequence[str]] | None = None,
        policy: Policy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not endpoints and not routes:
            raise ValueError("no backend endpoints: set PREDICTOR_BACKEND_URLS")
        self._endpoints = list(endpoints)
        self._routes = {model: list(urls) for model, urls in (routes or {}).items()}
        self._policy = policy or Policy(hedge=None)
        self._transport = transport
        self._clients: dict[str, ResilientClient] = {}

    def endpoints_for(self, model: str) -> list[str]:
        return self._routes.get(model) or self._endpoints

    @property
    def models(self) -> list[str]:
        """The models with an open client."""
        return sorted(self._clients)

    async def release(self, model: str) -> None:
        """Close and forget the model's client (its breakers start closed next time)."""
        client = self._clients.pop(model, None)
        if client is not None:
            await client.aclose(forget=True)

    def _client(self, model: str) -> ResilientClient:
        client = self._clients.get(model)
        if client is None:
            endpoints = self.endpoints_for(model)
            if not endpoints:
                raise AgentFailure("backend_unavailable", f"no backend is routed for {model}")
            client = ResilientClient(
                f"backend:{model}", endpoints, policy=self._policy, transport=self._transport
            )
            self._clients[model] = client
        return client

    async def infer(self, key: BatchKey, inputs: list[list[float]]) -> list[float | AgentFailure]:
        """One output per row; a row the backend rejected (422 naming it) gets its own
        `AgentFailure("bad_input")` and the batch's other rows are sent once more without
        it, so one poisoned agent never fails the agents it was batched with."""
        outputs: dict[int, float | AgentFailure] = {}
        pending = list(range(len(inputs)))
        for _ in range(MAX_ROUNDS):
            try:
                answers = await self._call(key, [inputs[index] for index in pending])
            except _RowsRejected as rejected:
                for position in rejected.rows:
                    outputs[pending[position]] = AgentFailure("bad_input", rejected.detail)
                pending = [index for n, index in enumerate(pending) if n not in rejected.rows]
                if pending:
                    continue
            else:
                if len(answers) != len(pending):
                    raise AgentFailure(
                        "bad_backend_response",
                        f"the backend returned {len(answers)} rows for {len(pending)}",
                    )
                outputs.update(zip(pending, answers, strict=True))
            return [outputs[index] for index in range(len(inputs))]
        raise AgentFailure("bad_backend_response", "the backend kept rejecting other rows")

    async def _call(self, key: BatchKey, inputs: list[list[float]]) -> list[float]:
        try:
            response = await self._client(key.model).post(
                f"/v1/models/{key.model}/infer",
                json={"agent_type": key.agent_type, "inputs": inputs},
                idempotent=True,
            )
        except DeadlineExceededError as error:
            raise AgentFailure("deadline_exceeded", str(error)) from error
        except CircuitOpenError as error:
            raise AgentFailure("backend_unavailable", str(error)) from error
        except ResilienceError as error:
            raise AgentFailure("backend_unavailable", str(error)) from error
        if response.status_code == 422:
            raise _rejection(response, len(inputs))
        if response.status_code != 200:
            raise AgentFailure(
                "backend_error", f"the backend answered {response.status_code} for this batch"
            )
        try:
            outputs = response.json()["outputs"]
        except (ValueError, KeyError, TypeError) as error:
            raise AgentFailure("bad_backend_response", "the backend's body is not JSON") from error
        if not isinstance(outputs, list):
            raise AgentFailure("bad_backend_response", "`outputs` is not a list")
        return outputs

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()
