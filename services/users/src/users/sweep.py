"""The orphan avatar sweeper: `python -m users.sweep` (a Kubernetes CronJob in the cloud).

`UserService` writes an avatar object before the row that points at it and deletes the
object when that write fails, so an orphan (an object no user row references) survives
only a crash between the two writes or a failed cleanup (`avatar_cleanup_failed`). One
run lists `avatars/` and deletes each object that is older than `USERS_SWEEP_GRACE_S`
and that its user's row does not reference (the user is gone, or points at another
key), at most `USERS_SWEEP_MAX_DELETES` per run: a backlog drains over several runs.

The grace period is what makes a run safe next to live traffic: an object younger than
it may belong to a create or avatar replace whose row write is still in flight. Rows are
read strongly consistent, once per user per run. Keys are `avatars/<user id>/<uuid>.<ext>`
(`AvatarStore.new_key`); an object under `avatars/` of any other shape is left alone.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from observability import get_logger
from observability.logs import configure_logging
from users.aws import Aws, open_aws
from users.repository import UserNotFound, UserRepository
from users.settings import Settings

log = get_logger(__name__)

PREFIX = "avatars/"
DELETE_BATCH = 1000  # the most keys one S3 DeleteObjects takes


@dataclass(frozen=True)
class SweepReport:
    scanned: int  # avatar objects listed
    orphans: int  # old enough and referenced by no row
    deleted: list[str]  # the orphans deleted (at most max_deletes)


def user_id_of(key: str) -> str | None:
    """The user id in `avatars/<user id>/<file>`; None for a key of any other shape."""
    parts = key.split("/")
    if len(parts) != 3 or parts[0] + "/" != PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1]


async def sweep(
    aws: Aws,
    bucket: str,
    users: UserRepository,
    *,
    grace: timedelta,
    max_deletes: int,
    now: datetime | None = None,
) -> SweepReport:
    """Delete orphan avatars older than `grace` (relative to `now`, default: the clock),
    at most `max_deletes` of them."""
    cutoff = (now or datetime.now(UTC)) - grace
    referenced: dict[str, str | None] = {}  # user id -> the avatar key its row holds
    scanned = orphans = 0
    doomed: list[str] = []
    token: str | None = None
    while True:
        request: dict[str, Any] = {"Bucket": bucket, "Prefix": PREFIX}
        if token:
            request["ContinuationToken"] = token
        page = await aws.on_s3(lambda request=request: aws.s3.list_objects_v2(**request))
        for item in page.get("Contents", []):
            scanned += 1
            key, user_id = item["Key"], user_id_of(item["Key"])
            if user_id is None or item["LastModified"] > cutoff:
                continue
            if user_id not in referenced:
                referenced[user_id] = await _avatar_key(users, user_id)
            if referenced[user_id] == key:
                continue
            orphans += 1
            if len(doomed) < max_deletes:
                doomed.append(key)
        token = page.get("NextContinuationToken") if page.get("IsTruncated") else None
        if token is None or len(doomed) >= max_deletes:
            break
    deleted = await _delete(aws, bucket, doomed)
    report = SweepReport(scanned=scanned, orphans=orphans, deleted=deleted)
    log.info(
        "avatar_sweep",
        bucket=bucket,
        scanned=scanned,
        orphans=orphans,
        deleted=len(deleted),
        complete=token is None,
    )
    return report


async def _avatar_key(users: UserRepository, user_id: str) -> str | None:
    try:
        return (await users.get(user_id)).avatar_key
    except UserNotFound:
        return None


async def _delete(aws: Aws, bucket: str, keys: list[str]) -> list[str]:
    deleted: list[str] = []
    for start in range(0, len(keys), DELETE_BATCH):
        batch = {"Objects": [{"Key": key} for key in keys[start : start + DELETE_BATCH]]}
        answer = await aws.on_s3(
            lambda batch=batch: aws.s3.delete_objects(Bucket=bucket, Delete=batch)
        )
        deleted.extend(item["Key"] for item in answer.get("Deleted", []))
        for error in answer.get("Errors", []):  # left for the next run
            log.warning("avatar_sweep_delete_failed", key=error.get("Key"), code=error.get("Code"))
    return deleted


async def main(settings: Settings) -> SweepReport:
    async with open_aws(settings) as aws:
        return await sweep(
            aws,
            settings.avatar_bucket,
            UserRepository(aws, settings.table),
            grace=timedelta(seconds=settings.sweep_grace_s),
            max_deletes=settings.sweep_max_deletes,
        )


if __name__ == "__main__":
    settings = Settings()
    configure_logging("users-sweep", level=settings.log_level)  # JSON lines, as the API's
    asyncio.run(main(settings))
