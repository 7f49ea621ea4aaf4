"""The whole platform on free ports, started by the same launcher as `make run`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.e2e import platform_env
from tools.launcher import LocalPlatform


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPlatform]:
    data_dir = tmp_path_factory.mktemp("platform-data")
    running = LocalPlatform(env=platform_env(), data_dir=data_dir, ready_timeout=90)
    running.start()
    try:
        yield running
    finally:
        running.stop()
