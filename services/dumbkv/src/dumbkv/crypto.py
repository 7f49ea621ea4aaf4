"""Key hashing and value encryption.

- Stored id = HMAC-SHA256(pepper, "kv-id:v1" || database (u32, big-endian) || key):
  still SHA-256, but keyed by a server secret, so a database dump alone does not let
  anyone test guesses of keys, and the id is never usable as the encryption key (the
  original stored the Fernet key itself in its key column).
- In a tenant's private namespace: HMAC-SHA256(pepper, "kv-id:v2" || u32be(len(tenant))
  || tenant || database || key), the tenant being the caller's identity subject. The
  length prefix keeps (tenant, key) pairs from colliding; the shared namespace keeps the
  v1 form, so data written before namespaces existed reads back unchanged.
- Value = AES-256-GCM under HKDF-SHA256(ikm=key, salt=16 random bytes per write,
  info="kv-enc:v1"), a fresh 96-bit nonce per write, associated data binding the
  ciphertext to (database, id): a row copied to another id or database fails to
  decrypt. Forgetting a key still means losing its value — the product's promise.

Blob format v1: 0x01 || salt (16) || nonce (12) || ciphertext || tag (16).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = 1
SALT_BYTES = 16
NONCE_BYTES = 12
_ID_LABEL = b"kv-id:v1"
_TENANT_ID_LABEL = b"kv-id:v2"
_ENC_INFO = b"kv-enc:v1"
_AD_LABEL = b"kv-ad:v1"


class DecryptionError(Exception):
    """The blob does not decrypt under this key, database and id (or is malformed)."""


def _database_bytes(database: int) -> bytes:
    return struct.pack(">I", database)


def stored_id(pepper: bytes, database: int, key: str, *, tenant: str | None = None) -> str:
    """The row id for (database, key) in `tenant`'s private namespace, or in the shared
    one when `tenant` is None: hex HMAC-SHA256 keyed by the server pepper."""
    scope = _database_bytes(database) + key.encode("utf-8")
    if tenant is None:
        message = _ID_LABEL + scope
    else:
        # surrogatepass: a subject is whatever the identity provider sent, and must map
        # to one namespace even when it is not valid Unicode text.
        name = tenant.encode("utf-8", "surrogatepass")
        message = _TENANT_ID_LABEL + struct.pack(">I", len(name)) + name + scope
    return hmac.new(pepper, message, hashlib.sha256).hexdigest()


def _value_key(key: str, salt: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=_ENC_INFO).derive(
        key.encode("utf-8")
    )


def _associated_data(database: int, row_id: str) -> bytes:
    return _AD_LABEL + _database_bytes(database) + row_id.encode("ascii")


def encrypt(key: str, database: int, row_id: str, plaintext: str) -> bytes:
    salt, nonce = os.urandom(SALT_BYTES), os.urandom(NONCE_BYTES)
    sealed = AESGCM(_value_key(key, salt)).encrypt(
        nonce, plaintext.encode("utf-8"), _associated_data(database, row_id)
    )
    return bytes([VERSION]) + salt + nonce + sealed


def decrypt(key: str, database: int, row_id: str, blob: bytes) -> str:
    header = 1 + SALT_BYTES + NONCE_BYTES
    if len(blob) < header + 16 or blob[0] != VERSION:
        raise DecryptionError("unknown or truncated value format")
    salt, nonce, sealed = blob[1 : 1 + SALT_BYTES], blob[1 + SALT_BYTES : header], blob[header:]
    try:
        plaintext = AESGCM(_value_key(key, salt)).decrypt(
            nonce, sealed, _associated_data(database, row_id)
        )
    except InvalidTag as error:
        raise DecryptionError("value failed authentication") from error
    return plaintext.decode("utf-8")
