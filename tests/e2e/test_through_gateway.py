"""Every API through the gateway only, then failures injected behind it."""

from __future__ import annotations

import uuid

import httpx

from tests.fixtures.fuzz import run_schemathesis
from tools.launcher import REMOTE_REPLICAS, LocalPlatform

PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489")
INVOKE = "query($v: String!) { invoke(input: $v) { output cached latencyMs } }"


def _gateway(platform: LocalPlatform, *, signed_in: bool = True) -> httpx.Client:
    """A client of the gateway, with the launcher's dev admin key unless `signed_in=False`."""
    headers = {"Authorization": f"Api-Key {platform.api_key}"} if signed_in else {}
    return httpx.Client(base_url=platform.url("gateway"), timeout=30, headers=headers)


def _invoke(client: httpx.Client, value: str) -> dict:
    return client.post("/graphql", json={"query": INVOKE, "variables": {"v": value}}).json()


def test_graphql_invoke_reaches_the_remote(platform: LocalPlatform) -> None:
    with _gateway(platform) as gateway:
        body = _invoke(gateway, "hello e2e")

    assert body["data"]["invoke"]["output"], body


def test_kv_set_get_delete(platform: LocalPlatform) -> None:
    key = f"e2e-{uuid.uuid4().hex}"
    with _gateway(platform) as gateway:
        written = gateway.put("/api/kv", json={"key": key, "value": "forty-two"})
        read = gateway.post("/api/kv", json={"key": key})
        deleted = gateway.request("DELETE", "/api/kv", json={"key": key})
        gone = gateway.post("/api/kv", json={"key": key})

    assert written.status_code == 200, written.text
    assert read.json()["value"] == "forty-two"
    assert deleted.status_code == 200, deleted.text
    assert gone.status_code == 404


def test_create_a_user_with_an_avatar_and_fetch_it_back(platform: LocalPlatform) -> None:
    email = f"e2e-{uuid.uuid4().hex[:8]}@example.com"
    with _gateway(platform) as gateway:
        created = gateway.post(
            "/api/users",
            data={"name": "E2E", "email": email},
            files={"avatar": ("me.png", PNG, "image/png")},
        )
        user = created.json()
        fetched = gateway.get(created.headers["location"])
        redirect = gateway.get(user["avatar_url"])

    assert created.status_code == 201, created.text
    assert created.headers["location"] == f"/api/users/{user['id']}"
    assert fetched.json()["email"] == email
    assert redirect.status_code == 302
    assert httpx.get(redirect.headers["location"]).content == PNG


def test_predict_with_several_agents(platform: LocalPlatform) -> None:
    agents = {
        "a": {"vector": [1.0, 2.0], "model": "m1", "agent_type": "scout"},
        "b": {"vector": [3.0, 4.0, 5.0], "model": "m1", "agent_type": "pilot"},
        "c": {"vector": [0.5], "model": "m2", "agent_type": "scout"},
    }
    with _gateway(platform) as gateway:
        response = gateway.post("/api/predict", json={"agents": agents})

    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert {name: results[name]["output"] for name in agents} == {"a": 3.0, "b": 12.0, "c": 0.5}


def test_list_the_llms(platform: LocalPlatform) -> None:
    with _gateway(platform) as gateway:
        listing = gateway.get("/api/llms")
        one = gateway.get("/api/llms/GPT-4")

    assert listing.status_code == 200, listing.text
    scores = [model["score"] for model in listing.json()]
    assert scores == sorted(scores, reverse=True)
    assert {model["model_name"] for model in listing.json()} >= {"GPT-4", "Claude 3 Opus"}
    assert one.json()["context_window"] == 128000


def test_writes_need_credentials_and_services_refuse_direct_calls(platform: LocalPlatform) -> None:
    body = {"key": "no-key", "value": "x"}
    with _gateway(platform, signed_in=False) as anonymous:
        refused = anonymous.put("/api/kv", json=body)
        listing = anonymous.get("/api/users")

    direct_kv = httpx.put(f"{platform.url('dumbkv')}/kv", json=body)
    direct_users = httpx.post(
        f"{platform.url('users')}/user", json={"name": "x", "email": "direct@example.com"}
    )

    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Api-Key")
    assert listing.status_code == 200, "reads stay open to anonymous callers"
    assert direct_kv.status_code == 401, "dumbkv trusts only the gateway's signed identity"
    assert direct_users.status_code == 401


def test_every_service_refuses_unsigned_calls_and_probes_stay_open(platform: LocalPlatform) -> None:
    predict = {"agents": {"a": {"vector": [1.0], "model": "m", "agent_type": "t"}}}

    direct = {
        "predictor": httpx.post(f"{platform.url('predictor')}/predict", json=predict),
        "catalog": httpx.get(f"{platform.url('catalog')}/llms"),
        "remote": httpx.post(f"{platform.url('remote')}/invoke", json={"input": "x"}),
    }
    pause = httpx.post(f"{platform.url('backend')}/control/pause")
    health = httpx.get(f"{platform.url('dumbkv')}/health")

    assert {name: r.status_code for name, r in direct.items()} == {
        "predictor": 401,
        "catalog": 401,
        "remote": 401,
    }
    assert pause.status_code == 404, "the backend's control routes are off in make run"
    assert (health.status_code, health.json()) == (200, {"status": "healthy"})


def test_fuzzing_every_api_through_the_gateway_with_an_admin_key_finds_no_server_error(
    platform: LocalPlatform,
) -> None:
    # Every upstream is real and running: a 5xx here is a bug of the gateway or a service.
    run_schemathesis(
        platform.url("gateway"),
        headers={"Authorization": f"Api-Key {platform.api_key}"},
        checks=("not_a_server_error", "response_schema_conformance"),
    )


def test_dumbkv_stopped_is_503_problem_then_recovers(platform: LocalPlatform) -> None:
    key = f"e2e-{uuid.uuid4().hex}"
    with _gateway(platform) as gateway:
        assert gateway.put("/api/kv", json={"key": key, "value": "kept"}).status_code == 200
        platform.stop_service("dumbkv")
        try:
            down = gateway.post("/api/kv", json={"key": key})
        finally:
            platform.start_service("dumbkv")
        recovered = _first_success(gateway, key)

    assert down.status_code == 503
    assert down.headers["content-type"].startswith("application/problem+json")
    assert recovered.json()["value"] == "kept", "the value written before the stop survives"


def _first_success(gateway: httpx.Client, key: str, attempts: int = 100) -> httpx.Response:
    """The gateway's breaker may still be open right after the restart: ask until it lets
    requests through again (bounded by attempts, each of which waits on the server)."""
    response = gateway.post("/api/kv", json={"key": key})
    for _ in range(attempts):
        if response.status_code == 200:
            break
        response = gateway.post(
            "/api/kv", json={"key": key}, headers={"X-Request-Deadline-Ms": "2000"}
        )
    return response


def test_remote_killed_gives_circuit_open_or_cached_answers(platform: LocalPlatform) -> None:
    with _gateway(platform) as gateway:
        assert _invoke(gateway, "remember me")["data"]["invoke"]["output"]
        for replica in REMOTE_REPLICAS:
            platform.kill_service(replica)
        try:
            codes = []
            for i in range(200):
                body = _invoke(gateway, f"fresh-{i}")
                codes.append(
                    body["errors"][0]["extensions"]["code"] if body.get("errors") else "OK"
                )
                if codes[-1] == "CIRCUIT_OPEN":
                    break
            cached = _invoke(gateway, "remember me")
        finally:
            for replica in REMOTE_REPLICAS:
                platform.start_service(replica)

    assert codes[-1] == "CIRCUIT_OPEN", codes
    assert cached["data"]["invoke"]["cached"] is True
