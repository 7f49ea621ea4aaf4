"""The key-value use cases: hash the key, encrypt the value, store, and back."""

from __future__ import annotations

from dataclasses import dataclass

from dumbkv import crypto
from dumbkv.store import Conflict, KVStore


class ValueTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"value larger than {limit} bytes")
        self.limit = limit


class VersionMismatch(Conflict):
    """A compare-and-set lost: the value changed, or is gone, since the expected version."""


@dataclass(frozen=True)
class Stored:
    value: str
    version: int


class KeyValueService:
    def __init__(self, store: KVStore, *, pepper: bytes, max_value_bytes: int) -> None:
        self.store = store
        self.pepper = pepper
        self.max_value_bytes = max_value_bytes

    def _id(self, database: int, key: str, tenant: str | None) -> str:
        return crypto.stored_id(self.pepper, database, key, tenant=tenant)

    async def read(self, database: int, key: str, *, tenant: str | None = None) -> Stored:
        """The plaintext; NotFound if absent or expired, DecryptionError if tampered.
        `tenant` names a private namespace of databases; None is the shared one."""
        row_id = self._id(database, key, tenant)
        row = await self.store.get(row_id)
        return Stored(crypto.decrypt(key, database, row_id, row.value), row.version)

    async def write(
        self,
        database: int,
        key: str,
        value: str,
        *,
        tenant: str | None = None,
        expected_version: int | None = None,
        overwrite: bool = False,
        ttl_s: float | None = None,
    ) -> int:
        """Store `value`; the new version. Conflict when the key exists (plain write),
        VersionMismatch (a Conflict) when its version is no longer `expected_version`."""
        if len(value.encode("utf-8")) > self.max_value_bytes:
            raise ValueTooLarge(self.max_value_bytes)
        row_id = self._id(database, key, tenant)
        blob = crypto.encrypt(key, database, row_id, value)
        if expected_version is not None:
            try:
                return await self.store.compare_and_set(
                    row_id, blob, expected_version=expected_version, ttl_s=ttl_s
                )
            except Conflict as error:
                raise VersionMismatch() from error
        if overwrite:
            return await self.store.put(row_id, blob, ttl_s=ttl_s)
        return await self.store.insert(row_id, blob, ttl_s=ttl_s)

    async def delete(self, database: int, key: str, *, tenant: str | None = None) -> None:
        await self.store.delete(self._id(database, key, tenant))
