"""Catalog fixtures: a uniquely named, seeded table on the session's moto server, handler
instances bound to it, and private moto processes for tests that count or break requests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from catalog.handler import Catalog
from tests.fixtures.catalog import RecordingMoto, create_seeded_table, make_catalog
from tools import localaws


@pytest.fixture
def table_name(moto_endpoint: Any, aws_env: dict[str, str]) -> str:
    """A fresh table seeded with the four default rows (credentials from aws_env)."""
    return create_seeded_table(moto_endpoint.url)


@pytest.fixture
def catalog(moto_endpoint: Any, table_name: str) -> Catalog:
    return make_catalog(moto_endpoint.url, table_name)


@pytest.fixture
def private_moto(tmp_path: Path, aws_env: dict[str, str]) -> Iterator[RecordingMoto]:
    """moto of this test's own (stopping it does not break other tests), recorder enabled."""
    process = localaws.moto_process()
    process.env = {"MOTO_RECORDER_FILEPATH": str(tmp_path / "moto_recording")}
    process.start().wait_ready()
    try:
        yield RecordingMoto(process=process, url=localaws.endpoint_url(process))
    finally:
        process.stop()
