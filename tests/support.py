"""Helpers shared by several test areas (fixtures stay in conftest.py files)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path


async def wait_until(
    condition: Callable[[], bool | Awaitable[bool]], *, within: float = 10.0
) -> None:
    """Poll an observable condition (bounded): state is awaited, never assumed."""
    deadline = time.monotonic() + within
    while True:
        outcome = condition()
        if not isinstance(outcome, bool):
            outcome = await outcome
        if outcome:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within} s")
        await asyncio.sleep(0.02)


def run_schemathesis(
    base_url: str,
    *,
    max_examples: int = 25,
    seed: int = 1,
    exclude_path_regex: str | None = None,
    workers: int = 1,
    headers: dict[str, str] | None = None,
    checks: Sequence[str] = ("not_a_server_error",),
) -> str:
    """Fuzz a running service from its own OpenAPI document; fails on any 5xx.

    Runs the schemathesis CLI against `<base_url>/openapi.json` with `checks` (by
    default `not_a_server_error`: every generated request, valid or not, must get a
    non-5xx answer; add `response_schema_conformance` to hold answers to the schema),
    `max_examples` per operation, killed after 300 s. Returns the report; raises
    AssertionError with it on failure.
    One worker by default: CPython 3.11's `ast.parse` is not thread-safe, and
    hypothesis parses lambdas while describing strategies ("AST constructor recursion
    depth mismatch" from two workers generating at once).
    `headers` are sent with every request (e.g. credentials: `{"Authorization": ...}`).
    """
    cli = Path(sys.executable).with_name("schemathesis")
    result = subprocess.run(
        [
            str(cli),
            "run",
            f"{base_url}/openapi.json",
            "--checks",
            ",".join(checks),
            "--max-examples",
            str(max_examples),
            "--seed",
            str(seed),
            "--request-timeout",
            "10",
            "--workers",
            str(workers),
            *(["--exclude-path-regex", exclude_path_regex] if exclude_path_regex else []),
            *[
                arg
                for name, value in (headers or {}).items()
                for arg in ("--header", f"{name}: {value}")
            ],
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = result.stdout + result.stderr
    assert result.returncode == 0, f"schemathesis found server errors:\n{report[-6000:]}"
    return report
