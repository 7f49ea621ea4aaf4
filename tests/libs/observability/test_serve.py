"""`serve` on a socket its parent bound (the launcher's and the fixtures' way)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import httpx
import pytest
from uvicorn.config import STARTUP_FAILURE

from observability import heap
from observability.app import LISTEN_FD_VAR, inherited_socket
from observability.edge import HeadTimeoutH11Protocol, ServerLimits
from tools.procs import ServerProcess, listening_socket

SERVE_SAMPLE = (
    "from observability.app import serve; "
    "serve('tests.libs.observability.sample_app:make_app', factory=True, host='127.0.0.1', port=0)"
)


def test_an_inherited_listening_socket_keeps_its_tcp_family(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # With the family wrong (uvicorn's fd= says AF_UNIX), asyncio never turns Nagle off
    # on accepted connections, and every small response waits on a delayed ACK.
    with listening_socket() as listen:
        monkeypatch.setenv(LISTEN_FD_VAR, str(os.dup(listen.fileno())))
        inherited = inherited_socket()
        assert inherited is not None
        with inherited:
            assert inherited.family == socket.AF_INET
            assert inherited.type == socket.SOCK_STREAM
            assert inherited.getsockname() == listen.getsockname()


def test_no_inherited_socket_without_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(LISTEN_FD_VAR, raising=False)

    assert inherited_socket() is None


def test_the_edge_bounds_request_heads_and_internal_services_parse_them_fast() -> None:
    edge, internal = ServerLimits().uvicorn_options(), ServerLimits.internal().uvicorn_options()

    assert edge["http"] is HeadTimeoutH11Protocol
    assert edge["h11_max_incomplete_event_size"] == 32 * 1024
    assert internal["http"] == "httptools"
    assert internal["forwarded_allow_ips"] is None  # still trusts no proxy


def test_a_served_app_runs_with_its_start_up_heap_frozen_and_the_collector_tuned() -> None:
    # Before: CPython's defaults (700, 10, 10), nothing frozen, and every full collection
    # walked start-up's ~100,000 objects again (observability.heap).
    listen = listening_socket()
    url = f"http://127.0.0.1:{listen.getsockname()[1]}"
    command = [sys.executable, "-c", SERVE_SAMPLE]
    with ServerProcess("served-sample", command, ready_url=f"{url}/livez", listen=listen):
        answer = httpx.get(f"{url}/admin/heap").json()

    assert answer["thresholds"] == list(heap.THRESHOLDS)
    assert answer["frozen"] > 10_000  # the modules, classes and the app itself


def test_a_served_app_whose_lifespan_fails_exits_with_uvicorns_start_up_failure() -> None:
    with listening_socket() as listen:
        finished = subprocess.run(
            [sys.executable, "-c", SERVE_SAMPLE],
            env={**os.environ, "SAMPLE_FAIL_STARTUP": "1", LISTEN_FD_VAR: str(listen.fileno())},
            pass_fds=(listen.fileno(),),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    assert finished.returncode == STARTUP_FAILURE
    assert "the sample was told to fail its start-up" in finished.stdout + finished.stderr
