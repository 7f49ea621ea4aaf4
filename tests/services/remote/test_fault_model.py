"""The remote behaves as the original `remote_server.py` did, as real processes.

The original slept with `time.sleep` in an `async def` on one uvicorn worker: one call
at a time, a slow call blocks every other, and a call whose client gave up is still
served when its turn comes. Calls are made slow on purpose through `/_chaos` (a forced
latency), and what the replica did is read from its own `/_stats` counters.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.fixtures.fuzz import run_schemathesis
from tests.fixtures.polling import wait_until
from tools.procs import start_module

TOKEN = "remote-test-token"
QUIET = {
    "REMOTE_FAILURE_503_RATE": "0",
    "REMOTE_FAILURE_500_RATE": "0",
    "REMOTE_STALL_RATE": "0",
    "REMOTE_OUTAGE_MINUTES": "0",
    "REMOTE_CHAOS_TOKEN": TOKEN,
    "REMOTE_SEED": "1",
}


@contextmanager
def _remote(**env: str) -> Iterator[str]:
    url, process = start_module("remote", "REMOTE_PORT", env={**QUIET, **env}, ready_path="/livez")
    try:
        yield url
    finally:
        process.kill()


@pytest.fixture
def serialized() -> Iterator[str]:
    with _remote() as url:  # the default
        yield url


@pytest.fixture
def concurrent() -> Iterator[str]:
    with _remote(REMOTE_SERIALIZED="false") as url:
        yield url


def _slow(url: str, latency_ms: int) -> None:
    body = {"latency_ms": latency_ms, "duration_s": 600}
    httpx.post(f"{url}/_chaos", json=body, headers={"X-Chaos-Token": TOKEN}).raise_for_status()


def _stats(url: str) -> dict[str, object]:
    return httpx.get(f"{url}/_stats").json()


async def _invoke(http: httpx.AsyncClient, value: str) -> httpx.Response:
    return await http.post("/invoke", json={"input": value})


async def _two_arrived(
    url: str, http: httpx.AsyncClient
) -> tuple[asyncio.Task[httpx.Response], asyncio.Task[httpx.Response]]:
    """Two calls sent at once, awaited until the replica has received both."""
    first = asyncio.create_task(_invoke(http, "a"))
    second = asyncio.create_task(_invoke(http, "b"))
    await wait_until(lambda: _stats(url)["received"] == 2)
    return first, second


async def test_serialized_remote_serves_one_call_at_a_time(serialized: str) -> None:
    _slow(serialized, 1000)
    async with httpx.AsyncClient(base_url=serialized, timeout=30) as http:
        first, second = await _two_arrived(serialized, http)

        waiting = _stats(serialized)  # both arrived; only the first is being served
        await asyncio.gather(first, second)

    assert waiting["invocations"] == 1
    assert _stats(serialized)["invocations"] == 2


async def test_serialized_remote_still_serves_a_call_whose_client_gave_up(
    serialized: str,
) -> None:
    _slow(serialized, 1000)
    async with httpx.AsyncClient(base_url=serialized, timeout=30) as http:
        first, abandoned = await _two_arrived(serialized, http)
        abandoned.cancel()  # the client hangs up while the call waits its turn
        await first
        third = await _invoke(http, "c")  # served after the abandoned one

    assert third.status_code == 200
    assert _stats(serialized)["invocations"] == 3


async def test_concurrent_model_serves_calls_side_by_side(concurrent: str) -> None:
    _slow(concurrent, 2000)
    async with httpx.AsyncClient(base_url=concurrent, timeout=30) as http:
        first = asyncio.create_task(_invoke(http, "a"))
        second = asyncio.create_task(_invoke(http, "b"))
        await wait_until(lambda: _stats(concurrent)["invocations"] == 2)

        first_done_when_second_started = first.done()
        await asyncio.gather(first, second)

    assert not first_done_when_second_started


def test_the_503_path_answers_a_plain_text_500_as_the_original() -> None:
    with _remote(REMOTE_FAILURE_503_RATE="1") as url:
        response = httpx.post(f"{url}/invoke", json={"input": "x"})

    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == "Internal Server Error"


def test_stats_say_whether_the_replica_is_serialized(serialized: str, concurrent: str) -> None:
    assert _stats(serialized)["serialized"] is True
    assert _stats(concurrent)["serialized"] is False


def test_remote_openapi_fuzzing_finds_no_server_error_besides_its_designed_failures() -> None:
    # Its failure rates are 0 here: any 5xx is a bug, not the fault model.
    with _remote() as url:
        run_schemathesis(url, checks=("not_a_server_error", "response_schema_conformance"))
