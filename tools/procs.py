"""Start, watch and stop real server processes on loopback.

One implementation serves `make run` (tools.launcher), the tests' fixtures and the
benchmarks, so what the tests exercise is what developers run. Written by hand because
the job is small and specific: start a command in its own process group with extra
environment, prefix its output, wait until an HTTP URL answers (bounded), and stop it
with SIGTERM then SIGKILL so no orphan survives.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from observability.app import LISTEN_FD_VAR

REPO_ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = "127.0.0.1"
LISTEN_BACKLOG = 2048  # uvicorn's default


def free_port() -> int:
    """A TCP port on loopback that was free a moment ago (the OS picks it).

    Only for servers that cannot inherit a socket (moto, Prometheus): between this
    call and their bind another process may take the port. Our services get a bound
    socket from `listening_socket` instead.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def listening_socket(port: int = 0) -> socket.socket:
    """A socket listening on loopback `port` (0: the OS picks one), to hand to a server.

    Binding in the parent is what makes a port ours: a collision fails here, loudly,
    instead of the child failing to bind while its readiness probe is answered by
    whoever holds the port.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((LOOPBACK, port))
        sock.listen(LISTEN_BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock


def http_ok(url: str, *, timeout: float = 1.0) -> bool:
    """True when a GET on `url` answers 2xx (a 404 is someone else's server)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (loopback)
            return int(response.status) < 300
    except urllib.error.HTTPError:
        return False
    except (OSError, ValueError):
        return False


class ProcessFailed(RuntimeError):
    """A managed process exited, or never became ready."""


@dataclass
class ServerProcess:
    """A command run as a server: started in its own process group, stopped cleanly.

    `ready_url` is polled (GET, a 2xx answer) until it answers or `ready_timeout`
    passes; `output` decides where the process's lines go: a stream gets them with a
    `[name]` prefix, None discards them (tests keep the last lines for error messages).
    `listen` is a bound socket the process inherits (told through `SERVER_LISTEN_FD`,
    which `observability.serve` reads); this object's copy is closed once it started.
    """

    name: str
    command: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)
    ready_url: str | None = None
    ready_timeout: float = 30.0
    cwd: Path = REPO_ROOT
    output: IO[str] | None = None
    listen: socket.socket | None = None
    # Output straight to this file instead of through the pump (benchmarks: a server
    # logging every request must not be slowed by a reader in this process).
    log_path: Path | None = None
    _proc: subprocess.Popen[str] | None = field(default=None, init=False, repr=False)
    _tail: list[str] = field(default_factory=list, init=False, repr=False)
    _pump: threading.Thread | None = field(default=None, init=False, repr=False)
    _new_line: threading.Condition = field(
        default_factory=threading.Condition, init=False, repr=False
    )
    _lines_seen: int = field(default=0, init=False, repr=False)

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise ProcessFailed(f"{self.name} is not running")
        return self._proc.pid

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def exit_code(self) -> int | None:
        """The exit code once the process ended (negative: killed by that signal)."""
        return None if self._proc is None else self._proc.poll()

    def start(self) -> ServerProcess:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        inherited: tuple[int, ...] = ()
        if self.listen is not None:
            inherited = (self.listen.fileno(),)
            env[LISTEN_FD_VAR] = str(self.listen.fileno())
        log_file = None if self.log_path is None else self.log_path.open("ab")
        self._proc = subprocess.Popen(  # noqa: S603 (commands are ours)
            list(self.command),
            cwd=self.cwd,
            env=env,
            pass_fds=inherited,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if log_file is None else log_file,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            start_new_session=True,
        )
        if log_file is not None:
            log_file.close()  # the child has its own descriptor
        if self.listen is not None:
            # The child holds the port now; a stopped server must refuse connections.
            self.listen.close()
            self.listen = None
        self._pump = threading.Thread(target=self._copy_output, daemon=True)
        self._pump.start()
        return self

    def wait_ready(self) -> ServerProcess:
        if self.ready_url is None:
            return self
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if not self.running():
                raise ProcessFailed(f"{self.name} exited before ready:\n{self.last_output()}")
            if http_ok(self.ready_url) and self.running():
                return self
            time.sleep(0.05)
        self.stop()
        raise ProcessFailed(
            f"{self.name} not ready at {self.ready_url} within {self.ready_timeout}s:\n"
            f"{self.last_output()}"
        )

    def stop(self, *, grace: float = 10.0) -> int | None:
        """SIGTERM the process group, SIGKILL it after `grace` seconds; returns exit code."""
        proc = self._proc
        if proc is None:
            return None
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        # Children that ignored SIGTERM must not outlive their leader.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        if self._pump is not None:
            self._pump.join(timeout=2)
        return proc.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the process to exit by itself (one-shot commands); its exit code."""
        if self._proc is None:
            raise ProcessFailed(f"{self.name} was never started")
        return self._proc.wait(timeout=timeout)

    def kill(self) -> None:
        """SIGKILL at once (fault injection): no shutdown hook runs."""
        if self._proc is not None and self._proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc.wait()

    def last_output(self, lines: int = 40) -> str:
        if self.log_path is not None:
            kept = self.log_path.read_text(errors="replace").splitlines(keepends=True)
            return "".join(kept[-lines:])
        with self._new_line:
            return "".join(self._tail[-lines:])

    def wait_for_line(self, predicate: Callable[[str], bool], *, timeout: float = 10.0) -> str:
        """Block until an output line (already seen or new) satisfies `predicate`.

        The process writes its logs asynchronously to the test; this waits on the
        output pump's notifications, bounded by `timeout`, instead of sleeping.
        """
        deadline = time.monotonic() + timeout
        checked = 0
        with self._new_line:
            while True:
                fresh = self._tail[max(len(self._tail) - (self._lines_seen - checked), 0) :]
                for line in fresh:
                    if predicate(line):
                        return line
                checked = self._lines_seen
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ProcessFailed(f"{self.name}: no matching output line in {timeout}s")
                self._new_line.wait(left)

    def _copy_output(self) -> None:
        proc = self._proc
        if proc is None or proc.stdout is None:
            return
        for line in proc.stdout:
            with self._new_line:
                self._tail.append(line)
                self._lines_seen += 1
                if len(self._tail) > 2000:
                    del self._tail[:1000]
                self._new_line.notify_all()
            if self.output is not None:
                self.output.write(f"[{self.name}] {line}")
                self.output.flush()

    def __enter__(self) -> ServerProcess:
        return self.start().wait_ready()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def uvicorn_command(app: str, port: int, *, factory: bool = True) -> list[str]:
    """The command that serves an ASGI app (module:attr) on loopback with this Python."""
    command = [sys.executable, "-m", "uvicorn", app, "--host", LOOPBACK, "--port", str(port)]
    if factory:
        command.append("--factory")
    return [*command, "--no-access-log", "--timeout-graceful-shutdown", "10"]


def start_module(
    module: str,
    port_var: str,
    *,
    env: Mapping[str, str] | None = None,
    ready_path: str = "/readyz",
    ready_timeout: float = 30.0,
) -> tuple[str, ServerProcess]:
    """`python -m <module>` on a free loopback port (told through `port_var`), started and
    ready; its base URL and process. The one way tests start a service process."""
    listen = listening_socket()
    port = int(listen.getsockname()[1])
    base = f"http://{LOOPBACK}:{port}"
    process = ServerProcess(
        f"{module}-{port}",
        [sys.executable, "-m", module],
        env={port_var: str(port), **(env or {})},
        ready_url=base + ready_path,
        ready_timeout=ready_timeout,
        listen=listen,
    )
    return base, process.start().wait_ready()


@contextlib.contextmanager
def serving(
    name: str,
    command: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    ready_url: str | None = None,
    ready_timeout: float = 30.0,
) -> Iterator[ServerProcess]:
    """Run a server for the duration of a `with` block (tests and benchmarks)."""
    server = ServerProcess(
        name, command, env=dict(env or {}), ready_url=ready_url, ready_timeout=ready_timeout
    )
    with server:
        yield server
