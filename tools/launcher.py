"""The whole platform on one machine: `make run` (and the end-to-end tests).

Starts local AWS (moto) and every service in dependency order (services that do not
need each other start together), each once its dependencies answer their readiness
probe, with logs prefixed per service; prints a table of URLs; Ctrl-C (or SIGTERM)
stops everything in reverse order, leaving no orphan process (each service runs in
its own process group, stopped as a group). A process that exits is restarted on its
port with backoff (`Supervisor`); one that keeps crashing stops the platform (exit 1).

Ports are the contract (gateway 8000, remote 8001, dumbkv 8002, predictor 8003,
users 8004, catalog 8005, the mock model server `model_backend` 8006), each defined once
in the service's `<service>/contract.py` with the variable that moves it, and read from
there here and by infra; remote replicas 2 and 3 on 8007 and 8008 are the launcher's own;
local AWS on a free port; Prometheus on 9090, moved with `PROMETHEUS_PORT`, when installed: it
scrapes every service with the generated SLO rules loaded). The remote
runs as three serialized replicas, as the original upstream ran in production, and the
gateway balances over all three; each replica's port moves with `REMOTE_PORT`,
`REMOTE_2_PORT`, `REMOTE_3_PORT`. Any other
environment variable given to `make run` reaches the services unchanged and wins over
the launcher's defaults: `GATEWAY_REMOTE_URLS=http://127.0.0.1:9001 make run`.
Local state (dumbkv's SQLite file) goes under `PLATFORM_DATA_DIR` (default `./.data`).
A service whose package has no entry point yet is listed as "not built" and skipped.
"""

from __future__ import annotations

import graphlib
import importlib.util
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import catalog.contract
import dumbkv.contract
import gateway.contract
import model_backend.contract
import predictor.contract
import remote.contract
import users.contract
from tools import localaws, localprom
from tools.procs import (
    LOOPBACK,
    REPO_ROOT,
    ProcessFailed,
    ServerProcess,
    free_port,
    http_ok,
    listening_socket,
)

Wiring = Callable[["LocalPlatform"], dict[str, str]]


@dataclass(frozen=True)
class LocalService:
    """How to run one service locally: its module, port variable and dependencies."""

    name: str
    module: str
    port_var: str  # the variable the service reads its port from
    default_port: int
    needs: tuple[str, ...] = ()
    wiring: Wiring = lambda _platform: {}
    setup: tuple[str, ...] = ()  # a module run once (python -m ...) before the service starts
    uses_aws: bool = False
    docs: bool = True
    port_setting: str | None = None  # the variable that moves it, when not `port_var`
    replica_of: str | None = None  # another replica of this service (one scrape job)

    @property
    def job(self) -> str:
        """The Prometheus job (and SLO rules' `job` label) this process is scraped as."""
        return self.replica_of or self.name

    @property
    def port_override(self) -> str:
        """The environment variable a caller sets to move this service's port."""
        return self.port_setting or self.port_var

    def available(self) -> bool:
        """True when the module can be run with `python -m` (its service is built)."""
        target = self.module if "." in self.module else f"{self.module}.__main__"
        try:
            return importlib.util.find_spec(target) is not None
        except ModuleNotFoundError:
            return False


def _url(platform: LocalPlatform, name: str) -> str:
    return f"http://{LOOPBACK}:{platform.ports[name]}"


def _dumbkv_store(platform: LocalPlatform) -> str:
    return str(platform.data_dir / "dumbkvstore" / "dumbkv.db")


REMOTE_REPLICAS = ("remote", "remote-2", "remote-3")

SERVICES: tuple[LocalService, ...] = (
    LocalService("remote", "remote", remote.contract.PORT_ENV, remote.contract.PORT),
    # The launcher's own extra replicas: ports (and the variables moving them) are its own.
    LocalService(
        "remote-2",
        "remote",
        remote.contract.PORT_ENV,
        8007,
        port_setting="REMOTE_2_PORT",
        replica_of="remote",
    ),
    LocalService(
        "remote-3",
        "remote",
        remote.contract.PORT_ENV,
        8008,
        port_setting="REMOTE_3_PORT",
        replica_of="remote",
    ),
    LocalService(
        "backend",
        "model_backend",
        model_backend.contract.PORT_ENV,
        model_backend.contract.PORT,
        docs=False,
    ),
    LocalService(
        "dumbkv",
        "dumbkv",
        dumbkv.contract.PORT_ENV,
        dumbkv.contract.PORT,
        wiring=lambda p: {"DATABASE_TYPE": "sqlite", "DATABASE_LOCATION": _dumbkv_store(p)},
    ),
    LocalService(
        "predictor",
        "predictor",
        predictor.contract.PORT_ENV,
        predictor.contract.PORT,
        needs=("backend",),
        wiring=lambda p: {predictor.contract.BACKEND_URLS_ENV: _url(p, "backend")},
    ),
    LocalService(
        "users",
        "users",
        users.contract.PORT_ENV,
        users.contract.PORT,
        uses_aws=True,
        wiring=lambda _p: {
            "USERS_TABLE": "users",
            "USERS_AVATAR_BUCKET": "platform-local-avatars",
            "USERS_CREATE_RESOURCES": "true",
        },
    ),
    LocalService(
        "catalog",
        "catalog",
        catalog.contract.PORT_ENV,
        catalog.contract.PORT,
        uses_aws=True,
        setup=("catalog.seed", "--create-table"),
        wiring=lambda _p: {"TABLE_NAME": "llm_scores"},
    ),
    LocalService(
        "gateway",
        "gateway",
        gateway.contract.PORT_ENV,
        gateway.contract.PORT,
        needs=(*REMOTE_REPLICAS, "dumbkv", "predictor", "users", "catalog"),
        wiring=lambda p: {
            "GATEWAY_KEYS_DB": str(p.keys_db),
            gateway.contract.REMOTE_URLS_ENV: ",".join(
                _url(p, name) for name in REMOTE_REPLICAS if name in p.ports
            ),
            **{
                gateway.contract.upstream_url_env(name): _url(p, name)
                for name in ("dumbkv", "predictor", "users", "catalog")
                if name in p.ports
            },
        },
    ),
)


@dataclass
class LocalPlatform:
    """A set of running services; `start()` brings them up in order, `stop()` tears down.

    `env` is the base environment (default: this process's), and it wins over every
    launcher default, so a caller's variable reaches its service unchanged.
    """

    services: Sequence[LocalService] = SERVICES
    ports: dict[str, int] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    data_dir: Path = REPO_ROOT / ".data"
    output: IO[str] | None = None
    ready_timeout: float = 60.0
    processes: dict[str, ServerProcess] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    aws_url: str | None = None
    startup_seconds: float = 0.0
    api_key: str | None = None
    prometheus_url: str | None = None
    notes: list[str] = field(default_factory=list)
    # One secret per launch, shared by the gateway (signs caller identities) and the
    # services (verify them), unless the caller's environment brings its own.
    identity_secret: str = field(default_factory=lambda: secrets.token_hex(32))
    # Bound before anything starts (port 0 picks one), each handed to its service.
    _sockets: dict[str, socket.socket] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for spec in self.services:
            override = self.env.get(spec.port_override)
            self.ports.setdefault(spec.name, int(override) if override else spec.default_port)
        self.identity_secret = self.env.get("PLATFORM_IDENTITY_SECRET", self.identity_secret)

    @property
    def keys_db(self) -> Path:
        return self.data_dir / "gateway" / "keys.db"

    def url(self, name: str) -> str:
        return _url(self, name)

    def start(self) -> LocalPlatform:
        started = time.monotonic()
        try:
            runnable = [spec for spec in self.services if spec.available()]
            self.skipped = [spec.name for spec in self.services if spec not in runnable]
            if any(spec.uses_aws for spec in runnable):
                self._start_local_aws()
            if any(spec.name == "gateway" for spec in runnable):
                self.api_key = self._dev_api_key()
            self._bind(runnable)
            for wave in _waves(runnable):
                self._start_together(wave)
            self._start_prometheus()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started
        return self

    def stop(self) -> None:
        for name in reversed(list(self.processes)):
            self.processes.pop(name).stop()
        for sock in self._sockets.values():
            sock.close()
        self._sockets.clear()

    def _bind(self, specs: Sequence[LocalService]) -> None:
        """Bind every service's port now: a taken port fails the start here, by name,
        and port 0 becomes a real port before any wiring is computed."""
        for spec in specs:
            try:
                sock = listening_socket(self.ports[spec.name])
            except OSError as error:
                raise RuntimeError(
                    f"{spec.name}: cannot listen on {LOOPBACK}:{self.ports[spec.name]} "
                    f"({error.strerror}); move it with {spec.port_override}=<port>"
                ) from error
            self._sockets[spec.name] = sock
            self.ports[spec.name] = int(sock.getsockname()[1])

    def stop_service(self, name: str) -> None:
        """Stop one service (fault injection); `start_service` brings it back."""
        self.processes.pop(name).stop()

    def kill_service(self, name: str) -> None:
        """SIGKILL one service: no graceful shutdown, as in a crash."""
        self.processes.pop(name).kill()

    def start_service(self, name: str) -> None:
        """Start one service again with the same port and wiring."""
        spec = next(spec for spec in self.services if spec.name == name)
        self._start(spec)

    def restart(self, name: str) -> list[str]:
        """Start a process that exited again, on the same port; the names restarted.

        Local AWS keeps its state in memory, so the services that use it restart with
        it (their setup creates their tables and buckets again; what they stored is gone).
        """
        old = self.processes.pop(name, None)
        if old is not None:
            old.stop()
        if name == "local-aws":
            assert self.aws_url is not None
            port = int(self.aws_url.rsplit(":", 1)[1])  # the endpoint the services were given
            moto = localaws.moto_process(port, output=self.output)
            self.processes[name] = moto.start().wait_ready()
            dependents = [s for s in self.services if s.uses_aws and s.name in self.processes]
            for spec in dependents:
                self.processes.pop(spec.name).stop()
            self._start_together(dependents)
            return [name, *(spec.name for spec in dependents)]
        if name == "prometheus":
            self._start_prometheus()
        else:
            self.start_service(name)
        return [name]

    def service_env(self, spec: LocalService) -> dict[str, str]:
        defaults = {
            spec.port_var: str(self.ports[spec.name]),
            "PLATFORM_IDENTITY_SECRET": self.identity_secret,
            **spec.wiring(self),
        }
        if spec.uses_aws and self.aws_url:
            defaults.update(localaws.client_env(self.aws_url))
        # The port is the launcher's to give: replicas share a port variable.
        return {**defaults, **self.env, spec.port_var: str(self.ports[spec.name])}

    def _dev_api_key(self) -> str:
        """An admin API key for local use, issued once per data directory and kept in
        `<data dir>/gateway/dev-api-key` (owner-only permissions)."""
        saved = self.keys_db.with_name("dev-api-key")
        if saved.exists() and self.keys_db.exists():
            return saved.read_text().strip()
        self.keys_db.parent.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "gateway.keys", "--db", str(self.keys_db)]
        issued = subprocess.run(  # noqa: S603 - our interpreter, our module
            [*command, "create", "--owner", "dev", "--admin"],
            capture_output=True,
            text=True,
            check=True,
            cwd=REPO_ROOT,
        )
        key = issued.stdout.strip()
        saved.touch(mode=0o600)
        saved.write_text(key + "\n")
        return key

    def _start_local_aws(self) -> None:
        if self.env.get("AWS_ENDPOINT_URL"):
            self.aws_url = self.env["AWS_ENDPOINT_URL"]
            return
        moto = localaws.moto_process(self.ports.get("local-aws"), output=self.output)
        self.processes["local-aws"] = moto.start().wait_ready()
        self.aws_url = localaws.endpoint_url(moto)

    def _start_prometheus(self) -> None:
        """Scrape every running service with its SLO rules loaded, when Prometheus is
        installed (the bootstrap installs Debian's); otherwise say so and go on."""
        if localprom.binary() is None:
            self.notes.append(
                "prometheus: not installed, so no local metrics store "
                "(apt-get install prometheus; `make bootstrap` does it as root on Debian)"
            )
            return
        jobs: dict[str, list[str]] = {}
        for spec in self.services:
            if spec.name in self.processes:  # every service serves /metrics
                jobs.setdefault(spec.job, []).append(f"{LOOPBACK}:{self.ports[spec.name]}")
        requested = int(self.env.get("PROMETHEUS_PORT", localprom.DEFAULT_PORT))
        # Prometheus binds its own port, so with port 0 a free one is chosen and may be
        # taken before Prometheus binds it: then a fresh one is tried.
        failures: list[str] = []
        for _attempt in range(3 if requested == 0 else 1):
            port = requested or free_port()
            process = localprom.prometheus_process(
                jobs, self.data_dir, port=port, output=self.output
            )
            self.processes["prometheus"] = process.start()
            process.wait_ready()
            url = f"http://{LOOPBACK}:{port}"
            # Another server on a taken port would also answer /-/ready: make sure it is ours.
            if process.running() and http_ok(f"{url}/api/v1/status/buildinfo"):
                self.prometheus_url = url
                return
            self.processes.pop("prometheus").stop()
            failures.append(f"{url}:\n{process.last_output()}")
        raise RuntimeError("prometheus did not start on " + "\n".join(failures))

    def _start(self, spec: LocalService) -> None:
        self._start_together([spec])

    def _start_together(self, specs: Sequence[LocalService]) -> None:
        """Start services that do not need each other at once, then wait for each."""
        for spec in specs:
            env = self.service_env(spec)
            if spec.setup:
                self._run_setup(spec, env)
            port = self.ports[spec.name]
            # A restarted service binds its port again (its first socket went with it).
            listen = self._sockets.pop(spec.name, None) or listening_socket(port)
            self.processes[spec.name] = ServerProcess(
                spec.name,
                [sys.executable, "-m", spec.module],
                env=env,
                ready_url=f"http://{LOOPBACK}:{port}/readyz",
                ready_timeout=self.ready_timeout,
                output=self.output,
                listen=listen,
            ).start()
        for spec in specs:
            self.processes[spec.name].wait_ready()

    def _run_setup(self, spec: LocalService, env: Mapping[str, str]) -> None:
        setup = ServerProcess(f"{spec.name}-setup", [sys.executable, "-m", *spec.setup], env=env)
        code = setup.start().wait(timeout=self.ready_timeout)
        setup.stop()
        if code != 0:
            raise RuntimeError(f"setup of {spec.name} failed:\n{setup.last_output()}")


class CrashLoop(RuntimeError):
    """A process kept crashing: the supervisor gave up on it (and so on the platform)."""


@dataclass
class Supervisor:
    """Restarts a platform's processes that exit, with backoff, until one keeps crashing.

    As systemd's `Restart=on-failure` with `StartLimitBurst`/`StartLimitIntervalSec` and
    Kubernetes' CrashLoopBackOff: the n-th crash within `window_s` waits
    `first_delay_s * 2**(n-1)` (capped at `max_delay_s`) before the restart, and
    `crash_limit` crashes within `window_s` raise `CrashLoop`. Call `check()`
    periodically; it never sleeps, so one slow restart does not delay noticing others.
    """

    platform: LocalPlatform
    log: Callable[[str], None] = print
    clock: Callable[[], float] = time.monotonic
    first_delay_s: float = 0.5
    max_delay_s: float = 30.0
    crash_limit: int = 5
    window_s: float = 60.0
    crashes: dict[str, list[float]] = field(default_factory=dict)
    due: dict[str, float] = field(default_factory=dict)

    def check(self) -> None:
        now = self.clock()
        for name, process in list(self.platform.processes.items()):
            if name not in self.due and not process.running():
                self._crashed(name, f"exited with code {process.exit_code}", now)
        for name, at in sorted(self.due.items(), key=lambda item: item[1]):
            if at > now:
                continue
            del self.due[name]
            try:
                restarted = self.platform.restart(name)
            except (ProcessFailed, RuntimeError, OSError) as error:
                self._crashed(name, f"restart failed: {error}", self.clock())
            else:
                self.log(f"launcher: restarted {', '.join(restarted)}")

    def _crashed(self, name: str, why: str, now: float) -> None:
        recent = [t for t in self.crashes.get(name, []) if now - t < self.window_s] + [now]
        self.crashes[name] = recent
        if len(recent) >= self.crash_limit:
            raise CrashLoop(
                f"{name} crashed {len(recent)} times within {self.window_s:.0f} s ({why})"
            )
        delay = min(self.max_delay_s, self.first_delay_s * 2 ** (len(recent) - 1))
        self.due[name] = now + delay
        self.log(f"launcher: {name} {why}; restarting in {delay:.1f} s")


def _waves(specs: Sequence[LocalService]) -> list[list[LocalService]]:
    """Dependency levels: every service in a wave needs only services of earlier waves
    (each wave in declared order); a cycle raises `graphlib.CycleError`, a ValueError."""
    names = {spec.name for spec in specs}
    sorter = graphlib.TopologicalSorter(
        {spec.name: [need for need in spec.needs if need in names] for spec in specs}
    )
    sorter.prepare()
    waves: list[list[LocalService]] = []
    while sorter.is_active():
        ready = set(sorter.get_ready())
        waves.append([spec for spec in specs if spec.name in ready])
        sorter.done(*ready)
    return waves


def _in_dependency_order(specs: Sequence[LocalService]) -> list[LocalService]:
    return [spec for wave in _waves(specs) for spec in wave]


def url_table(platform: LocalPlatform) -> str:
    rows = [("service", "url", "docs")]
    for spec in platform.services:
        if spec.name not in platform.processes:
            continue
        base = platform.url(spec.name)
        rows.append((spec.name, base, f"{base}/docs" if spec.docs else "-"))
    if "gateway" in platform.processes:
        rows.append(("graphiql", f"{platform.url('gateway')}/graphql", "-"))
    if platform.aws_url:
        rows.append(("local-aws", platform.aws_url, "-"))
    if platform.prometheus_url:
        rows.append(("prometheus", platform.prometheus_url, f"{platform.prometheus_url}/targets"))
    width = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["  ".join(cell.ljust(width[i]) for i, cell in enumerate(row)) for row in rows]
    if platform.api_key:
        lines.append(
            f"dev admin API key: {platform.api_key}\n"
            f"  send it as `Authorization: Api-Key <key>` (writes need it); kept in "
            f"{platform.keys_db.with_name('dev-api-key')}"
        )
    if platform.skipped:
        lines.append(f"not built yet (skipped): {', '.join(platform.skipped)}")
    lines.extend(platform.notes)
    return "\n".join(lines)


def main() -> int:
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    data_dir = Path(os.environ.get("PLATFORM_DATA_DIR", REPO_ROOT / ".data"))
    platform = LocalPlatform(output=sys.stdout, data_dir=data_dir)
    print("launcher: starting the platform (Ctrl-C stops everything)", flush=True)
    try:
        platform.start()
    except Exception as error:
        print(f"launcher: start failed: {error}", file=sys.stderr, flush=True)
        return 1
    print(
        f"\nlauncher: ready in {platform.startup_seconds:.1f} s\n{url_table(platform)}\n",
        flush=True,
    )
    supervisor = Supervisor(platform, log=lambda line: print(line, flush=True))
    code = 0
    while not stop.wait(0.5):
        try:
            supervisor.check()
        except CrashLoop as error:
            print(f"launcher: {error}; stopping the platform", file=sys.stderr, flush=True)
            code = 1
            break
    print("launcher: stopping", flush=True)
    platform.stop()
    print("launcher: stopped cleanly", flush=True)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
