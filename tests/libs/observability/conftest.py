"""A real uvicorn process serving the sample app built with `create_app`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tools.procs import ServerProcess, free_port, uvicorn_command

SAMPLE_APP = "tests.libs.observability.sample_app:make_app"


def start_sample(env: dict[str, str] | None = None) -> tuple[ServerProcess, str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = ServerProcess(
        "sample", uvicorn_command(SAMPLE_APP, port), env=env or {}, ready_url=f"{base}/livez"
    )
    return process.start().wait_ready(), base


@pytest.fixture(scope="module")
def sample() -> Iterator[tuple[ServerProcess, str]]:
    process, base = start_sample()
    try:
        yield process, base
    finally:
        process.stop()


@pytest.fixture
def base_url(sample: tuple[ServerProcess, str]) -> str:
    return sample[1]
