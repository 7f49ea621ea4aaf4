"""Catalog fixtures: a uniquely named, seeded table on the session's moto server, handler
instances bound to it, and private moto processes for tests that count or break requests."""

from __future__ import annotations

import base64
import io
import json
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from catalog.cache import CatalogCache
from catalog.handler import Catalog
from catalog.seed import DEFAULT_ROWS, ensure_table, seed
from catalog.settings import Settings
from catalog.table import CatalogTable
from observability.aws_lambda import LambdaTelemetry
from tools import localaws
from tools.procs import ServerProcess


def dynamodb(url: str) -> Any:
    return boto3.client("dynamodb", region_name=localaws.REGION, endpoint_url=url)


def create_seeded_table(url: str) -> str:
    name = f"llm_scores_{uuid.uuid4().hex[:10]}"
    client = dynamodb(url)
    ensure_table(client, name)
    seed(client, name, DEFAULT_ROWS)
    return name


def make_catalog(
    url: str, table_name: str, *, clock: Callable[[], float] | None = None, **overrides: Any
) -> Catalog:
    """A Catalog on `table_name` at `url`, its logs kept in memory (catalog.telemetry.stream)."""
    settings = Settings(
        table_name=table_name, region=localaws.REGION, endpoint_url=url, **overrides
    )
    table = CatalogTable(settings)
    cache = None
    if clock is not None:
        cache = CatalogCache(
            table.scan_all,
            ttl_s=settings.cache_ttl_s,
            stale_max_s=settings.stale_max_s,
            error_backoff_s=settings.error_backoff_s,
            clock=clock,
        )
    telemetry = LambdaTelemetry("catalog", stream=io.StringIO())
    return Catalog(settings, table=table, cache=cache, telemetry=telemetry)


def event_v2(
    path: str,
    *,
    method: str = "GET",
    query: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    stage: str = "$default",
) -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": dict(headers or {}),
        "queryStringParameters": dict(query) if query else None,
        "requestContext": {"http": {"method": method, "path": path}, "stage": stage},
        "isBase64Encoded": False,
    }


def event_v1(
    path: str,
    *,
    method: str = "GET",
    query: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "version": "1.0",
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": dict(headers or {}),
        "queryStringParameters": dict(query) if query else None,
        "requestContext": {"stage": "$default"},
        "isBase64Encoded": False,
    }


@pytest.fixture
def table_name(moto_endpoint: Any, aws_env: dict[str, str]) -> str:
    """A fresh table seeded with the four default rows (credentials from aws_env)."""
    return create_seeded_table(moto_endpoint.url)


@pytest.fixture
def catalog(moto_endpoint: Any, table_name: str) -> Catalog:
    return make_catalog(moto_endpoint.url, table_name)


@dataclass
class RecordingMoto:
    """A private moto server whose recorder logs every request it receives."""

    process: ServerProcess
    url: str

    def start_recording(self) -> None:
        for action in ("reset-recording", "start-recording"):
            request = urllib.request.Request(
                f"{self.url}/moto-api/recorder/{action}", method="POST", data=b""
            )
            urllib.request.urlopen(request, timeout=5).close()

    def operations(self, table_name: str) -> list[str]:
        """DynamoDB operations (X-Amz-Target suffixes) the server received for `table_name`."""
        url = f"{self.url}/moto-api/recorder/download-recording"
        with urllib.request.urlopen(url, timeout=5) as response:
            lines = response.read().decode().splitlines()
        found = []
        for line in filter(None, lines):
            entry = json.loads(line)
            headers = {k.lower(): v for k, v in entry["headers"].items()}
            target = headers.get("x-amz-target", "")
            body = entry.get("body") or ""
            if entry.get("body_encoded"):
                body = base64.b64decode(body).decode()
            if target.startswith("DynamoDB_") and table_name in body:
                found.append(target.rpartition(".")[2])
        return found


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
