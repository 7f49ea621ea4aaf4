"""In-process TTL cache of the whole catalog, with stale-if-error (RFC 5861 semantics).

The catalog is small and read by everyone, so one snapshot per process answers every
request: warm invocations skip DynamoDB entirely. When a refresh fails, the last good
snapshot keeps being served (flagged STALE) for up to `stale_max_s`; with nothing to
serve the caller gets the error (the handler maps it to 503). After a failure the cache
waits `error_backoff_s` before calling DynamoDB again, so an outage costs one call per
process per backoff, not one per request.

Times are wall-clock (`time.time`), not monotonic: under SnapStart a snapshot is
restored minutes or days later, and only the wall clock says how old the copy is. A
clock that steps backwards is treated as "expired".
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from catalog.dynamodb import DynamoDBError
from catalog.table import Model, ScanResult

CacheState = Literal["HIT", "MISS", "STALE"]


def etag_of(body: bytes) -> str:
    """A strong ETag derived from the bytes sent (same bytes, same tag, in every process)."""
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def encode(models: object) -> bytes:
    return json.dumps(models, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class Snapshot:
    """One good read of the table, sorted by score (desc), with its list body pre-encoded."""

    models: tuple[Model, ...]
    fetched_at: float
    by_name: dict[str, Model] = field(repr=False)
    body: bytes = field(repr=False)
    etag: str

    @classmethod
    def of(cls, result: ScanResult, fetched_at: float) -> Snapshot:
        models = tuple(sorted(result.models, key=lambda m: (-m.score, m.model_name)))
        body = encode([m.to_json() for m in models])
        return cls(
            models=models,
            fetched_at=fetched_at,
            by_name={m.model_name: m for m in models},
            body=body,
            etag=etag_of(body),
        )


class CatalogCache:
    """Single-flight TTL cache around a loader (normally CatalogTable.scan_all)."""

    def __init__(
        self,
        loader: Callable[[], ScanResult],
        *,
        ttl_s: float = 60.0,
        stale_max_s: float = 86400.0,
        error_backoff_s: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._loader = loader
        self.ttl_s = ttl_s
        self.stale_max_s = stale_max_s
        self.error_backoff_s = error_backoff_s
        self._clock = clock
        self._snapshot: Snapshot | None = None
        self._failed_at: float | None = None
        self._last_error: DynamoDBError | None = None
        self._lock = threading.Lock()  # the local adapter calls from a thread pool
        self.loads = 0  # DynamoDB reads started, for logs and tests

    def _age(self, snapshot: Snapshot, now: float) -> float:
        age = now - snapshot.fetched_at
        return age if age >= 0 else float("inf")

    def _fresh(self, now: float) -> Snapshot | None:
        snapshot = self._snapshot
        if snapshot is not None and self._age(snapshot, now) < self.ttl_s:
            return snapshot
        return None

    def get(self) -> tuple[Snapshot, CacheState]:
        """The catalog and how it was served; DynamoDBError when nothing can be served."""
        snapshot = self._fresh(self._clock())
        if snapshot is not None:
            return snapshot, "HIT"
        with self._lock:
            now = self._clock()
            snapshot = self._fresh(now)
            if snapshot is not None:  # another thread refreshed while we waited
                return snapshot, "HIT"
            backing_off = (
                self._failed_at is not None
                and 0 <= now - self._failed_at < self.error_backoff_s
                and self._last_error is not None
            )
            if not backing_off:
                self.loads += 1
                try:
                    snapshot = Snapshot.of(self._loader(), now)
                except DynamoDBError as error:
                    self._failed_at, self._last_error = now, error
                else:
                    self._snapshot, self._failed_at, self._last_error = snapshot, None, None
                    return snapshot, "MISS"
            stale = self._snapshot
            if stale is not None and self._age(stale, now) < self.ttl_s + self.stale_max_s:
                return stale, "STALE"
            assert self._last_error is not None
            raise self._last_error

    @property
    def last_error(self) -> DynamoDBError | None:
        return self._last_error
