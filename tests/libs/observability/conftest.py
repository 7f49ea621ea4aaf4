"""A real uvicorn process serving the sample app built with `create_app`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.observability import start_sample
from tools.procs import ServerProcess


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
