"""Liveness and readiness probes.

`/livez` answers 200 while the process runs (no dependency is called: a slow
database must not get the pod killed). `/readyz` runs every registered
`ReadinessCheck` concurrently, each under its own timeout, and answers 503 with a
JSON body naming the failing checks, so traffic is routed elsewhere.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ReadinessCheck:
    """A named async check; it fails by raising, returning False, or outliving `timeout`.

    Default timeout 1 s: a probe that waits longer than the kubelet's probe timeout is
    worse than a failed one.
    """

    name: str
    check: Callable[[], Awaitable[object]]
    timeout: float = 1.0

    async def run(self) -> dict[str, Any]:
        try:
            result = await asyncio.wait_for(self.check(), timeout=self.timeout)
        except TimeoutError:
            return {"ok": False, "error": f"timed out after {self.timeout}s"}
        except Exception as error:  # a failing dependency, reported not raised
            return {"ok": False, "error": f"{type(error).__name__}: {error}"[:300]}
        if result is False:
            return {"ok": False, "error": "check returned false"}
        return {"ok": True}


async def run_checks(checks: Sequence[ReadinessCheck]) -> tuple[bool, dict[str, Any]]:
    results = await asyncio.gather(*(check.run() for check in checks))
    by_name = {check.name: result for check, result in zip(checks, results, strict=True)}
    failing = [name for name, result in by_name.items() if not result["ok"]]
    body = {"status": "not ready" if failing else "ready", "failing": failing, "checks": by_name}
    return not failing, body
