"""`make run`'s launcher as a real process: ready, serving, and Ctrl-C leaves no orphan."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import httpx
import psutil

from tests.fixtures.e2e import platform_env
from tools.procs import ServerProcess


def test_launcher_serves_then_ctrl_c_stops_every_process(tmp_path: Path) -> None:
    env = {**platform_env(known=("GATEWAY_PORT",)), "PLATFORM_DATA_DIR": str(tmp_path)}
    launcher = ServerProcess(
        "launcher",
        [sys.executable, "-m", "tools.launcher"],
        env=env,
        ready_url=f"http://127.0.0.1:{env['GATEWAY_PORT']}/readyz",
        ready_timeout=120,
    )
    launcher.start().wait_ready()
    try:
        launcher.wait_for_line(lambda line: "launcher: ready in" in line, timeout=30)
        services = psutil.Process(launcher.pid).children(recursive=True)
        assert len(services) >= 6, [child.cmdline() for child in services]
        assert httpx.get(f"http://127.0.0.1:{env['GATEWAY_PORT']}/livez").status_code == 200
        assert (tmp_path / "dumbkvstore").is_dir()

        os.kill(launcher.pid, signal.SIGINT)
        exit_code = launcher.wait(timeout=60)
    finally:
        launcher.stop()

    assert exit_code == 0, launcher.last_output()
    assert "launcher: stopped cleanly" in launcher.last_output()
    _, alive = psutil.wait_procs(services, timeout=5)
    assert alive == [], f"orphans: {[child.cmdline() for child in alive]}"
