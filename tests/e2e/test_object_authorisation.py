"""Object-level authorisation through the gateway: one caller cannot change another's
user or read another tenant's KV data (OWASP API1, broken object-level authorisation)."""

from __future__ import annotations

import subprocess
import sys
import uuid

import httpx
import pytest

from tools.launcher import LocalPlatform

PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489")


def _key_for(platform: LocalPlatform, owner: str) -> str:
    """Issue an API key with the same CLI an operator uses (the gateway reads the store
    on every request, so no restart is needed)."""
    cli = [sys.executable, "-m", "gateway.keys", "--db", str(platform.keys_db)]
    issued = subprocess.run(
        [*cli, "create", "--owner", owner],
        capture_output=True,
        text=True,
        check=True,
    )
    return issued.stdout.strip()


@pytest.fixture(scope="module")
def callers(platform: LocalPlatform) -> dict[str, httpx.Client]:
    return {
        owner: httpx.Client(
            base_url=platform.url("gateway"),
            headers={"Authorization": f"Api-Key {_key_for(platform, owner)}"},
            timeout=30,
        )
        for owner in ("alice", "bob")
    }


def test_a_caller_cannot_change_another_callers_user(callers: dict[str, httpx.Client]) -> None:
    alice, bob = callers["alice"], callers["bob"]
    email = f"alice-{uuid.uuid4().hex[:8]}@example.com"
    user = alice.post("/api/users", json={"name": "Alice", "email": email}).json()
    avatar = {"file": ("a.png", PNG, "image/png")}

    by_bob = bob.put(f"/api/users/{user['id']}/avatar", files=avatar)
    by_alice = alice.put(f"/api/users/{user['id']}/avatar", files=avatar)
    deleted_by_bob = bob.delete(f"/api/users/{user['id']}")

    assert by_bob.status_code == 403
    assert by_bob.headers["content-type"].startswith("application/problem+json")
    assert by_alice.status_code == 201
    assert deleted_by_bob.status_code == 403
    assert alice.get(f"/api/users/{user['id']}").status_code == 200


def test_a_tenant_cannot_read_or_change_another_tenants_database(
    callers: dict[str, httpx.Client],
) -> None:
    # The platform's default configuration: no database is shared.
    alice, bob = callers["alice"], callers["bob"]
    body = {"database": 1, "key": f"secret-{uuid.uuid4().hex}"}
    assert alice.put("/api/kv", json={**body, "value": "a"}).status_code == 200

    read_by_bob = bob.post("/api/kv", json=body)
    written_by_bob = bob.put("/api/kv", json={**body, "value": "b"})
    deleted_by_bob = bob.request("DELETE", "/api/kv", json=body)

    assert read_by_bob.status_code == 404
    assert read_by_bob.headers["content-type"].startswith("application/problem+json")
    assert written_by_bob.status_code == 200, "bob writes his own database 1"
    assert deleted_by_bob.status_code == 200
    assert alice.post("/api/kv", json=body).json() == {"value": "a"}
