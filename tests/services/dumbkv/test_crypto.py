"""Encryption round trips, tamper detection and binding to (database, id)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
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
