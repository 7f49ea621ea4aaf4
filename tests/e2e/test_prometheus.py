"""The generated SLO rules and dashboards, evaluated by a real Prometheus on live metrics.

The launcher's Prometheus (Debian's, installed by `scripts/test-infra.sh`) scrapes the
running platform every 5 s and evaluates every generated rule; this drives traffic
through the gateway, forces the remote into an outage through its chaos control, and
reads the answers from Prometheus' HTTP API.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from observability.dashboards import render_dashboard
from observability.slo import RECORDING_WINDOWS, recording_rule_name
from tests.fixtures.polling import wait_until
from tools.launcher import REMOTE_REPLICAS, LocalPlatform
from tools.slo_rules import service_slos

CHAOS_TOKEN = "e2e-chaos-token"  # tests/e2e/conftest.py gives it to the remote
INVOKE = "query($v: String!) { invoke(input: $v) { output } }"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489")


def _query(platform: LocalPlatform, expr: str) -> dict[str, Any]:
    assert platform.prometheus_url, "make run starts Prometheus when it is installed"
    response = httpx.get(f"{platform.prometheus_url}/api/v1/query", params={"query": expr})
    return response.json()


def _series(platform: LocalPlatform, expr: str) -> list[dict[str, Any]]:
    return _query(platform, expr)["data"]["result"]


def _traffic(platform: LocalPlatform) -> None:
    """A little of everything the SLOs select, through the gateway."""
    headers = {"Authorization": f"Api-Key {platform.api_key}"}
    with httpx.Client(base_url=platform.url("gateway"), headers=headers, timeout=30) as gw:
        for _ in range(5):
            gw.post("/graphql", json={"query": INVOKE, "variables": {"v": uuid.uuid4().hex}})
        key = f"prom-{uuid.uuid4().hex}"
        gw.put("/api/kv", json={"key": key, "value": "v"})
        gw.post("/api/kv", json={"key": key})
        email = f"prom-{uuid.uuid4().hex[:8]}@example.com"
        created = gw.post(
            "/api/users",
            data={"name": "Prom", "email": email},
            files={"avatar": ("me.png", PNG, "image/png")},
        )
        gw.get(created.headers["location"])
        agents = {"a": {"vector": [1.0], "model": "m1", "agent_type": "scout"}}
        gw.post("/api/predict", json={"agents": agents})


def _chaos(platform: LocalPlatform, outage_s: float) -> None:
    for replica in REMOTE_REPLICAS:
        httpx.post(
            f"{platform.url(replica)}/_chaos",
            json={"outage_s": outage_s},
            headers={"X-Chaos-Token": CHAOS_TOKEN},
        ).raise_for_status()


def _targets(platform: LocalPlatform) -> list[dict[str, Any]]:
    response = httpx.get(f"{platform.prometheus_url}/api/v1/targets").json()
    return response["data"]["activeTargets"]


async def test_every_service_of_the_platform_is_a_target_that_is_up(
    platform: LocalPlatform,
) -> None:
    def all_up() -> bool:
        targets = _targets(platform)
        return bool(targets) and all(t["health"] == "up" for t in targets)

    await wait_until(all_up, within=60)

    jobs = {target["labels"]["job"] for target in _targets(platform)}
    assert jobs == {"gateway", "remote", "dumbkv", "predictor", "backend", "users", "catalog"}
    assert len([t for t in _targets(platform) if t["labels"]["job"] == "remote"]) == 3


async def test_every_recording_rule_of_every_service_has_data(platform: LocalPlatform) -> None:
    wanted = [
        (service, slo.name, window)
        for service, slos in service_slos().items()
        for slo in slos
        for window in RECORDING_WINDOWS
    ]

    def missing() -> list[tuple[str, str, str]]:
        return [
            (service, slo, window)
            for service, slo, window in wanted
            if not _series(
                platform, f'{recording_rule_name(window)}{{service="{service}",slo="{slo}"}}'
            )
        ]

    async def all_recorded() -> bool:
        _traffic(platform)
        return not missing()

    await wait_until(all_recorded, within=90)
    assert missing() == []


async def test_the_gateway_burn_rate_moves_when_the_remote_is_forced_into_an_outage(
    platform: LocalPlatform,
) -> None:
    burn = f'{recording_rule_name("5m")}{{service="gateway",slo="invoke-availability"}}'
    _chaos(platform, outage_s=120)
    try:

        def burning() -> bool:
            with httpx.Client(base_url=platform.url("gateway"), timeout=30) as gateway:
                for _ in range(5):
                    body = {"query": INVOKE, "variables": {"v": uuid.uuid4().hex}}
                    gateway.post("/graphql", json=body)
            return any(float(s["value"][1]) > 0 for s in _series(platform, burn))

        await wait_until(burning, within=90)
    finally:
        _chaos(platform, outage_s=0)

    assert float(_series(platform, burn)[0]["value"][1]) > 0


@pytest.mark.parametrize("service", sorted(service_slos()))
def test_every_dashboard_query_is_valid_promql_for_prometheus(
    platform: LocalPlatform, service: str
) -> None:
    dashboard = render_dashboard(service, service_slos()[service])
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", ())]

    answers = {expr: _query(platform, expr) for expr in exprs}

    assert exprs
    assert {expr: a.get("error") for expr, a in answers.items() if a["status"] != "success"} == {}
