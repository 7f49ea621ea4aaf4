"""The launcher's wiring rules: dependency order, the port contract, caller env wins."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tools.launcher import (
    REMOTE_REPLICAS,
    SERVICES,
    CrashLoop,
    LocalPlatform,
    LocalService,
    Supervisor,
    _in_dependency_order,
    _waves,
)
from tools.procs import LOOPBACK


def test_services_start_after_everything_they_need() -> None:
    order = [spec.name for spec in _in_dependency_order(SERVICES)]

    for spec in SERVICES:
        for need in spec.needs:
            assert order.index(need) < order.index(spec.name)


def test_default_ports_follow_the_contract() -> None:
    platform = LocalPlatform(env={})

    assert platform.ports == {
        "gateway": 8000,
        "remote": 8001,
        "dumbkv": 8002,
        "predictor": 8003,
        "users": 8004,
        "catalog": 8005,
        "backend": 8006,
        "remote-2": 8007,
        "remote-3": 8008,
    }


def test_port_variable_moves_a_service_and_its_wiring() -> None:
    platform = LocalPlatform(env={"REMOTE_PORT": "9101"})
    gateway = next(spec for spec in SERVICES if spec.name == "gateway")

    env = platform.service_env(gateway)

    assert env["GATEWAY_REMOTE_URLS"].split(",")[0] == "http://127.0.0.1:9101"


def test_the_gateway_balances_over_three_remote_replicas_on_their_own_ports() -> None:
    platform = LocalPlatform(env={"REMOTE_PORT": "9101", "REMOTE_3_PORT": "9103"})
    gateway = next(spec for spec in SERVICES if spec.name == "gateway")
    replicas = [spec for spec in SERVICES if spec.name in REMOTE_REPLICAS]

    urls = platform.service_env(gateway)["GATEWAY_REMOTE_URLS"].split(",")
    replica_ports = [platform.service_env(spec)["REMOTE_PORT"] for spec in replicas]

    assert urls == ["http://127.0.0.1:9101", "http://127.0.0.1:8007", "http://127.0.0.1:9103"]
    assert replica_ports == ["9101", "8007", "9103"]


def test_caller_environment_wins_over_launcher_defaults() -> None:
    upstreams = "http://127.0.0.1:9001,http://127.0.0.1:9002"
    platform = LocalPlatform(env={"GATEWAY_REMOTE_URLS": upstreams})
    gateway = next(spec for spec in SERVICES if spec.name == "gateway")

    env = platform.service_env(gateway)

    assert env["GATEWAY_REMOTE_URLS"] == upstreams
    assert env["GATEWAY_DUMBKV_URL"] == "http://127.0.0.1:8002"


def test_dependency_cycle_is_refused() -> None:
    a = LocalService("a", "a", "A_PORT", 1, needs=("b",))
    b = LocalService("b", "b", "B_PORT", 2, needs=("a",))

    with pytest.raises(ValueError, match="cycle"):
        _in_dependency_order([a, b])


def test_waves_start_together_only_what_does_not_depend_on_each_other() -> None:
    waves = [[spec.name for spec in wave] for wave in _waves(SERVICES)]

    position = {name: index for index, wave in enumerate(waves) for name in wave}
    assert sorted(position) == sorted(spec.name for spec in SERVICES)
    for spec in SERVICES:
        for need in spec.needs:
            assert position[need] < position[spec.name]
    assert len(waves[0]) > 1, "independent services should start together"


@pytest.fixture
def impostor() -> Iterator[int]:
    """Another HTTP server on loopback that answers 200 to every path, /readyz included."""

    class Always200(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((LOOPBACK, 0), Always200)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


REMOTE_ONLY = tuple(spec for spec in SERVICES if spec.name == "remote")


def test_a_port_held_by_another_server_fails_the_start_by_name(
    impostor: int, tmp_path: Path
) -> None:
    platform = LocalPlatform(
        services=REMOTE_ONLY, env={"REMOTE_PORT": str(impostor)}, data_dir=tmp_path
    )

    with pytest.raises(RuntimeError, match=rf"remote: cannot listen on .*:{impostor}.*REMOTE_PORT"):
        platform.start()
    assert platform.processes == {}


def test_port_zero_serves_the_service_on_a_port_the_launcher_bound(tmp_path: Path) -> None:
    platform = LocalPlatform(
        services=REMOTE_ONLY, env={"REMOTE_PORT": "0", "PROMETHEUS_PORT": "0"}, data_dir=tmp_path
    )
    platform.start()
    try:
        port = platform.ports["remote"]
        stats = httpx.get(f"{platform.url('remote')}/_stats")
    finally:
        platform.stop()

    assert port != 0
    assert stats.status_code == 200
    assert "received" in stats.json()


class _Clock:
    """The supervisor's clock, moved by the test: backoff is decided, never slept."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def remote_only(tmp_path: Path) -> Iterator[LocalPlatform]:
    platform = LocalPlatform(
        services=REMOTE_ONLY, env={"REMOTE_PORT": "0", "PROMETHEUS_PORT": "0"}, data_dir=tmp_path
    )
    platform.start()
    try:
        yield platform
    finally:
        platform.stop()


def _crash(platform: LocalPlatform, name: str) -> None:
    process = platform.processes[name]
    process.kill()
    process.wait(timeout=10)


def test_a_crashed_service_is_restarted_on_its_port_after_its_backoff(
    remote_only: LocalPlatform,
) -> None:
    clock, lines = _Clock(), []
    supervisor = Supervisor(remote_only, log=lines.append, clock=clock, first_delay_s=2.0)
    port = remote_only.ports["remote"]
    _crash(remote_only, "remote")

    supervisor.check()
    waiting = not remote_only.processes["remote"].running()
    clock.now += 2.0
    supervisor.check()

    assert waiting, "restarted before its backoff"
    assert remote_only.ports["remote"] == port
    assert httpx.get(f"http://{LOOPBACK}:{port}/livez").status_code == 200
    assert lines[0] == "launcher: remote exited with code -9; restarting in 2.0 s"
    assert lines[-1] == "launcher: restarted remote"


def test_a_service_that_keeps_crashing_stops_the_supervisor(remote_only: LocalPlatform) -> None:
    clock = _Clock()
    supervisor = Supervisor(remote_only, log=lambda _line: None, clock=clock, crash_limit=3)

    for _ in range(2):
        _crash(remote_only, "remote")
        supervisor.check()
        clock.now = supervisor.due["remote"]  # restarted as soon as its backoff allows
        supervisor.check()
    _crash(remote_only, "remote")

    with pytest.raises(CrashLoop, match="remote crashed 3 times within 60 s"):
        supervisor.check()


def test_crashes_spread_wider_than_the_window_never_give_up(remote_only: LocalPlatform) -> None:
    clock = _Clock()
    supervisor = Supervisor(remote_only, log=lambda _line: None, clock=clock, crash_limit=2)

    for _ in range(3):
        _crash(remote_only, "remote")
        supervisor.check()
        clock.now += supervisor.window_s
        supervisor.check()

    assert remote_only.processes["remote"].running()


def test_local_aws_restarts_with_the_services_that_keep_state_in_it(tmp_path: Path) -> None:
    users = tuple(spec for spec in SERVICES if spec.name == "users")
    platform = LocalPlatform(
        services=users, env={"USERS_PORT": "0", "PROMETHEUS_PORT": "0"}, data_dir=tmp_path
    )
    platform.start()
    try:
        users_pid = platform.processes["users"].pid
        clock = _Clock()
        supervisor = Supervisor(platform, log=lambda _line: None, clock=clock)
        _crash(platform, "local-aws")

        supervisor.check()
        clock.now += supervisor.first_delay_s
        supervisor.check()
        ready = httpx.get(f"{platform.url('users')}/readyz")
        restarted_users = platform.processes["users"].pid != users_pid
    finally:
        platform.stop()

    assert ready.status_code == 200, ready.text  # its table and bucket exist again
    assert restarted_users
