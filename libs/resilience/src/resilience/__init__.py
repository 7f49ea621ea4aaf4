"""Resilience for every outbound call: deadlines, retries within a budget, circuit
breaking, bulkheads, hedging and load balancing, over httpx and asyncio.

```python
policy = Policy(
    timeout=Timeout(per_try=0.8, total=2.5),
    retry=Retry(attempts=3, backoff=FullJitter(base=0.05, cap=1.0), budget=RetryBudget(ratio=0.2)),
    breaker=Breaker(window=30.0, failure_rate=0.5, slow_call=0.9, min_calls=20),
)
async with ResilientClient("remote", endpoints=urls, policy=policy) as client:
    response = await client.post("/invoke", json={"input": value})
```

Names are imported on first use, so `resilience.deadlines` (which servers import on
every request path) costs no httpx import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = [
    "REQUEST_FAULT",
    "REQUEST_FAULT_HEADER",
    "Breaker",
    "Bulkhead",
    "BulkheadFullError",
    "CircuitOpenError",
    "ConcurrencyLimit",
    "DeadlineExceededError",
    "Ejection",
    "FullJitter",
    "Guard",
    "Hedge",
    "Policy",
    "ResilienceError",
    "ResilientClient",
    "Retry",
    "RetryBudget",
    "Timeout",
    "UpstreamUnavailableError",
    "parse_retry_after",
]

_EXPORTS = {
    **dict.fromkeys(
        ("REQUEST_FAULT", "REQUEST_FAULT_HEADER", "ResilientClient", "parse_retry_after"),
        "resilience.client",
    ),
    **dict.fromkeys(
        (
            "BulkheadFullError",
            "CircuitOpenError",
            "DeadlineExceededError",
            "ResilienceError",
            "UpstreamUnavailableError",
        ),
        "resilience.errors",
    ),
    "Guard": "resilience.guard",
    **dict.fromkeys(
        (
            "Breaker",
            "Bulkhead",
            "ConcurrencyLimit",
            "Ejection",
            "FullJitter",
            "Hedge",
            "Policy",
            "Retry",
            "RetryBudget",
            "Timeout",
        ),
        "resilience.policy",
    ),
}

if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from resilience.client import (
        REQUEST_FAULT,
        REQUEST_FAULT_HEADER,
        ResilientClient,
        parse_retry_after,
    )
    from resilience.errors import (
        BulkheadFullError,
        CircuitOpenError,
        DeadlineExceededError,
        ResilienceError,
        UpstreamUnavailableError,
    )
    from resilience.guard import Guard
    from resilience.policy import (
        Breaker,
        Bulkhead,
        ConcurrencyLimit,
        Ejection,
        FullJitter,
        Hedge,
        Policy,
        Retry,
        RetryBudget,
        Timeout,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'resilience' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
