"""`serve` on a socket its parent bound (the launcher's and the fixtures' way)."""

from __future__ import annotations

import os
import socket

import pytest

from observability.app import LISTEN_FD_VAR, inherited_socket
from observability.edge import HeadTimeoutH11Protocol, ServerLimits
from tools.procs import listening_socket


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
