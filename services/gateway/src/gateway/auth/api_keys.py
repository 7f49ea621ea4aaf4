"""API keys: `pk_<key_id>_<secret>`, stored only as salted hashes in a SQLite file.

The key id is public (it names the key in logs and in `revoke`); the secret is 256 bits
from `secrets.token_urlsafe(32)` and is shown once, by `python -m gateway.keys create`.

Why HMAC-SHA256 with a per-key salt, not bcrypt/scrypt/argon2: a slow KDF makes guessing
a *low-entropy* secret (a password) expensive. These secrets are 256 random bits: no
dictionary exists, and 2^255 guesses on average are infeasible however fast one guess is.
A slow KDF would add tens of milliseconds of CPU to every authenticated request — and an
easy CPU-exhaustion lever for anyone sending made-up keys — without adding security. The
per-key random salt keeps equal secrets from having equal digests and makes a leaked
store useless for precomputed lookups. Digests are compared with `hmac.compare_digest`
so the time taken reveals nothing about how much of a guess matched; an unknown key id
still pays one comparison against a dummy digest so ids cannot be probed by timing.

The gateway opens the store read-only: only the admin CLI writes it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

PREFIX = "pk"
SECRET_BYTES = 32
SALT_BYTES = 16
_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    key_id     TEXT PRIMARY KEY,
    owner      TEXT NOT NULL,
    roles      TEXT NOT NULL,
    salt       BLOB NOT NULL,
    digest     BLOB NOT NULL,
    created_at REAL NOT NULL,
    revoked_at REAL
)
"""
# Compared against when the key id is unknown, so that path costs what a known id costs.
_DUMMY_SALT = b"\x00" * SALT_BYTES
_DUMMY_DIGEST = b"\x00" * hashlib.sha256().digest_size


class ApiKeyRejected(Exception):
    """The presented key is malformed, unknown, wrong or revoked (the message says which)."""


@dataclass(frozen=True)
class KeyRecord:
    """One stored key, without anything that would let someone use it."""

    key_id: str
    owner: str
    roles: frozenset[str]
    created_at: float
    revoked_at: float | None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


@dataclass(frozen=True)
class IssuedKey:
    """A freshly created key: `key` is the only copy of the secret there will ever be."""

    record: KeyRecord
    key: str


def digest(salt: bytes, secret: str) -> bytes:
    """HMAC-SHA256 of the secret keyed by the per-key salt (see the module docstring)."""
    return hmac.new(salt, secret.encode(), hashlib.sha256).digest()


def parse_key(presented: str) -> tuple[str, str]:
    """(key_id, secret) of `pk_<key_id>_<secret>`; ApiKeyRejected when not of that shape."""
    prefix, _, rest = presented.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != PREFIX or not key_id.isalnum() or not secret:
        raise ApiKeyRejected("malformed API key")
    return key_id, secret


class KeyStore:
    """The API keys in one SQLite file (created by the first `create`)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def create(self, owner: str, *, roles: frozenset[str] = frozenset()) -> IssuedKey:
        if not owner.strip():
            raise ValueError("owner must not be empty")
        key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(SECRET_BYTES)
        salt = secrets.token_bytes(SALT_BYTES)
        record = KeyRecord(key_id, owner, frozenset(roles), time.time(), None)
        hashed = digest(salt, secret)
        row = (key_id, owner, " ".join(sorted(roles)), salt, hashed, record.created_at)
        with self._writable() as db:
            db.execute("INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, ?, NULL)", row)
        return IssuedKey(record, f"{PREFIX}_{key_id}_{secret}")

    def revoke(self, key_id: str) -> bool:
        """Mark the key revoked (kept for the audit trail); False when no such live key."""
        with self._writable() as db:
            changed = db.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL",
                (time.time(), key_id),
            ).rowcount
        return changed == 1

    def list(self) -> list[KeyRecord]:
        with self._readonly() as db:
            if db is None:
                return []
            rows = db.execute(
                "SELECT key_id, owner, roles, created_at, revoked_at FROM api_keys "
                "ORDER BY created_at"
            ).fetchall()
        return [_record(row) for row in rows]

    def verify(self, presented: str) -> KeyRecord:
        """The live key record for `presented`, or ApiKeyRejected. Blocking (SQLite)."""
        key_id, secret = parse_key(presented)
        with self._readonly() as db:
            row = None
            if db is not None:
                row = db.execute(
                    "SELECT key_id, owner, roles, created_at, revoked_at, salt, digest "
                    "FROM api_keys WHERE key_id = ?",
                    (key_id,),
                ).fetchone()
        salt, stored = (row[5], row[6]) if row else (_DUMMY_SALT, _DUMMY_DIGEST)
        matches = hmac.compare_digest(digest(salt, secret), stored)
        if row is None or not matches:
            raise ApiKeyRejected("unknown or wrong API key")
        record = _record(row[:5])
        if record.revoked:
            raise ApiKeyRejected(f"API key {key_id} was revoked")
        return record

    @contextmanager
    def _writable(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, timeout=5)) as db, db:
            db.execute(_SCHEMA)
            yield db

    @contextmanager
    def _readonly(self) -> Iterator[sqlite3.Connection | None]:
        """A read-only connection, None when there is no store (yet): no key is valid."""
        uri = f"{self.path.resolve().as_uri()}?mode=ro"
        try:
            db = sqlite3.connect(uri, uri=True, timeout=5)
        except sqlite3.OperationalError:
            yield None
            return
        with closing(db):
            try:
                db.execute("SELECT 1 FROM api_keys LIMIT 1")
            except sqlite3.OperationalError:  # the file exists but holds no key table
                yield None
                return
            yield db


def _record(row: tuple[object, ...]) -> KeyRecord:
    key_id, owner, roles, created_at, revoked_at = row
    return KeyRecord(
        key_id=str(key_id),
        owner=str(owner),
        roles=frozenset(str(roles).split()),
        created_at=float(created_at),  # type: ignore[arg-type]
        revoked_at=None if revoked_at is None else float(revoked_at),  # type: ignore[arg-type]
    )
