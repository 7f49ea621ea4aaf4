"""The API key store: salted hashes only, constant-time comparison, revocation, the CLI."""

from __future__ import annotations

import hmac
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.auth import api_keys
from gateway.auth.api_keys import ApiKeyRejected, KeyStore, parse_key


def _salt_and_secret(store: KeyStore, key: str) -> tuple[bytes, str]:
    key_id, secret = parse_key(key)
    with sqlite3.connect(store.path) as db:
        (salt,) = db.execute("SELECT salt FROM api_keys WHERE key_id = ?", (key_id,)).fetchone()
    return salt, secret


@pytest.fixture
def store(tmp_path: Path) -> KeyStore:
    return KeyStore(tmp_path / "keys.db")


def test_issued_key_verifies_to_its_owner_and_roles(store: KeyStore) -> None:
    issued = store.create("alice", roles=frozenset({"admin"}))

    record = store.verify(issued.key)

    assert (record.key_id, record.owner, record.roles) == (
        issued.record.key_id,
        "alice",
        frozenset({"admin"}),
    )


def test_store_holds_a_salted_hash_never_the_secret(store: KeyStore) -> None:
    first, second = store.create("alice"), store.create("bob")

    with sqlite3.connect(store.path) as db:
        rows = db.execute("SELECT * FROM api_keys").fetchall()

    dump = repr(rows)
    for issued in (first, second):
        assert parse_key(issued.key)[1] not in dump
    salts = {row[3] for row in rows}
    assert len(salts) == 2  # one salt per key


def test_verification_compares_digests_with_hmac_compare_digest(
    store: KeyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    issued = store.create("alice")
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)

    record = store.verify(issued.key)

    assert record.owner == "alice"
    assert len(calls) == 1
    computed, stored = calls[0]
    assert computed == stored == api_keys.digest(*_salt_and_secret(store, issued.key))


def test_unknown_key_id_still_pays_one_constant_time_comparison(
    store: KeyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.create("alice")
    calls: list[object] = []
    real = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: calls.append(a) or real(a, b))

    with pytest.raises(ApiKeyRejected):
        store.verify("pk_0123456789abcdef_whatever")

    assert len(calls) == 1


def test_wrong_secret_is_rejected(store: KeyStore) -> None:
    key_id = store.create("alice").record.key_id

    with pytest.raises(ApiKeyRejected):
        store.verify(f"pk_{key_id}_not-the-secret")


def test_revoked_key_is_rejected_and_says_so(store: KeyStore) -> None:
    issued = store.create("alice")

    assert store.revoke(issued.record.key_id)

    with pytest.raises(ApiKeyRejected, match="revoked"):
        store.verify(issued.key)
    assert not store.revoke(issued.record.key_id)  # already revoked


@pytest.mark.parametrize("presented", ["", "pk", "pk_", "pk_abc", "sk_abc_def", "pk_a-b_c"])
def test_malformed_key_is_rejected(store: KeyStore, presented: str) -> None:
    with pytest.raises(ApiKeyRejected, match="malformed"):
        store.verify(presented)


def test_missing_store_rejects_every_key(tmp_path: Path) -> None:
    with pytest.raises(ApiKeyRejected):
        KeyStore(tmp_path / "absent.db").verify("pk_0123456789abcdef_secret")

    assert not (tmp_path / "absent.db").exists()  # verification never creates the store


def keys_cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.keys", *args],
        env={"GATEWAY_KEYS_DB": str(db), "PATH": ""},
        capture_output=True,
        text=True,
        check=False,
    )


def test_cli_create_prints_the_key_once_and_list_never_shows_it(tmp_path: Path) -> None:
    db = tmp_path / "keys.db"

    created = keys_cli(db, "create", "--owner", "ci", "--admin")
    listed = keys_cli(db, "list")

    key = created.stdout.strip()
    key_id = parse_key(key)[0]
    assert created.returncode == 0
    assert key_id in created.stderr
    assert KeyStore(db).verify(key).roles == frozenset({"admin"})
    assert key_id in listed.stdout
    assert "ci" in listed.stdout
    assert parse_key(key)[1] not in listed.stdout + listed.stderr


def test_cli_revoke_of_an_unknown_id_fails(tmp_path: Path) -> None:
    assert keys_cli(tmp_path / "keys.db", "revoke", "nosuchkey").returncode == 1
