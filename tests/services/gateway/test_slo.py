"""The gateway's SLIs are fed by the requests they describe (in process, no remote)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.settings import Settings


def test_graphql_requests_count_towards_the_invoke_latency_slo(tmp_path: Path) -> None:
    app = create_app(Settings(ready_requires_remote=False, keys_db=tmp_path / "keys.db"))
    with TestClient(app) as client:
        for _ in range(3):
            assert client.post("/graphql", json={"query": "{ hello }"}).status_code == 200
        slos = {slo["name"]: slo for slo in client.get("/slo").json()["slos"]}

    assert slos["invoke-latency"]["total"] == 3
    assert slos["invoke-latency"]["good"] == 3
