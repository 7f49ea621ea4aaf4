"""SIGTERM while a request is in flight: the request completes, then the process exits."""

from __future__ import annotations

import os
import signal

import anyio
import httpx

from tests.fixtures.observability import start_sample


async def test_in_flight_request_completes_after_sigterm() -> None:
    process, base = start_sample()
    result: dict[str, httpx.Response] = {}
    try:
        async with (
            httpx.AsyncClient(base_url=base, timeout=15) as client,
            anyio.create_task_group() as tasks,
        ):

            async def slow_request() -> None:
                result["slow"] = await client.get("/slow", params={"seconds": 1.0})

            tasks.start_soon(slow_request)
            with anyio.fail_after(10):
                # Another process's state can only be polled; 10 ms steps, bounded.
                while not (await client.get("/admin/slow-started")).json()["started"]:  # noqa: ASYNC110
                    await anyio.sleep(0.01)
            os.killpg(process.pid, signal.SIGTERM)
        exit_code = await anyio.to_thread.run_sync(process.wait, 15)
    finally:
        process.stop()

    assert result["slow"].status_code == 200
    assert result["slow"].json() == {"status": "finished"}
    # uvicorn re-raises the signal after a graceful shutdown, so the exit reports it.
    assert exit_code == -signal.SIGTERM
    assert "Application shutdown complete" in process.last_output(400)
