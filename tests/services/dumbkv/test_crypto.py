"""Encryption round trips, tamper detection and binding to (database, id)."""

from __future__ import annotations

import hashlib
import hmac
import struct

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from dumbkv import crypto

PEPPER = b"pepper"
databases = st.integers(min_value=0, max_value=2**31 - 1)
keys = st.text(min_size=1, max_size=64)
values = st.text(max_size=256)


@settings(max_examples=60)
@given(key=keys, database=databases, value=values)
def test_round_trip(key: str, database: int, value: str) -> None:
    row_id = crypto.stored_id(PEPPER, database, key)

    assert (
        crypto.decrypt(key, database, row_id, crypto.encrypt(key, database, row_id, value)) == value
    )


@settings(max_examples=60)
@given(key=keys, value=values, data=st.data())
def test_any_flipped_byte_is_detected(key: str, value: str, data: st.DataObject) -> None:
    row_id = crypto.stored_id(PEPPER, 0, key)
    blob = bytearray(crypto.encrypt(key, 0, row_id, value))
    index = data.draw(st.integers(min_value=0, max_value=len(blob) - 1))
    blob[index] ^= data.draw(st.integers(min_value=1, max_value=255))

    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(key, 0, row_id, bytes(blob))


@settings(max_examples=30)
@given(key=keys, value=values, other_db=st.integers(min_value=1, max_value=100))
def test_a_row_copied_to_another_id_or_database_fails_to_decrypt(
    key: str, value: str, other_db: int
) -> None:
    row_id = crypto.stored_id(PEPPER, 0, key)
    blob = crypto.encrypt(key, 0, row_id, value)
    other_id = crypto.stored_id(PEPPER, 0, key + "x")

    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(key, 0, other_id, blob)
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(key, other_db, row_id, blob)


def test_each_write_uses_a_fresh_salt_and_nonce() -> None:
    row_id = crypto.stored_id(PEPPER, 0, "k")

    assert crypto.encrypt("k", 0, row_id, "same") != crypto.encrypt("k", 0, row_id, "same")


def test_stored_id_depends_on_pepper_database_and_key() -> None:
    ids = {
        crypto.stored_id(b"p1", 0, "k"),
        crypto.stored_id(b"p2", 0, "k"),
        crypto.stored_id(b"p1", 1, "k"),
        crypto.stored_id(b"p1", 0, "k2"),
    }
    assert len(ids) == 4


def test_the_shared_namespace_keeps_the_v1_id_so_existing_rows_still_read() -> None:
    v1 = hmac.new(PEPPER, b"kv-id:v1" + struct.pack(">I", 7) + b"k", hashlib.sha256).hexdigest()

    assert crypto.stored_id(PEPPER, 7, "k") == v1
    assert crypto.stored_id(PEPPER, 7, "k", tenant="alice") != v1


tenants = st.none() | st.text(max_size=16)


@settings(max_examples=200)
@given(first=st.tuples(tenants, databases, keys), second=st.tuples(tenants, databases, keys))
def test_distinct_tenant_database_key_triples_never_share_an_id(
    first: tuple[str | None, int, str], second: tuple[str | None, int, str]
) -> None:
    # "ab" + key "c" must not meet "a" + key "bc": the tenant is length-prefixed.
    assume(first != second)
    (tenant_a, db_a, key_a), (tenant_b, db_b, key_b) = first, second

    assert crypto.stored_id(PEPPER, db_a, key_a, tenant=tenant_a) != crypto.stored_id(
        PEPPER, db_b, key_b, tenant=tenant_b
    )


def test_a_tenants_row_does_not_decrypt_under_another_tenants_id() -> None:
    alice = crypto.stored_id(PEPPER, 0, "k", tenant="alice")
    blob = crypto.encrypt("k", 0, alice, "secret")

    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt("k", 0, crypto.stored_id(PEPPER, 0, "k", tenant="bob"), blob)
