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
"""

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
from resilience.shedder import LoadShedder

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
    "LoadShedder",
    "Policy",
    "ResilienceError",
    "ResilientClient",
    "Retry",
    "RetryBudget",
    "Timeout",
    "UpstreamUnavailableError",
    "parse_retry_after",
]
