"""The orphan avatar sweeper (users.sweep) against moto's server mode: old objects no
row references go, referenced and young ones stay, deletes are bounded per run."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from tests.fixtures.users import PNG
from users.aws import Aws, open_aws
from users.repository import UserRecord, UserRepository
from users.resources import create_resources
from users.settings import Settings
from users.sweep import main, sweep

GRACE = timedelta(hours=1)
LATER = datetime.now(UTC) + 2 * GRACE  # every object written by a test is past its grace


@dataclass
class Bucket:
    aws: Aws
    settings: Settings
    users: UserRepository

    async def object(self, key: str) -> str:
        await self.aws.s3.put_object(Bucket=self.settings.avatar_bucket, Key=key, Body=PNG)
        return key

    async def user(self) -> UserRecord:
        user = UserRecord(
            id=uuid.uuid4().hex,
            name="Ada",
            email=f"{uuid.uuid4().hex}@example.com",
            created_at=datetime.now(UTC).isoformat(),
        )
        await self.users.create(user)
        return user

    async def keys(self) -> set[str]:
        listing = await self.aws.s3.list_objects_v2(Bucket=self.settings.avatar_bucket)
        return {item["Key"] for item in listing.get("Contents", [])}

    async def sweep(self, *, max_deletes: int = 100, now: datetime | None = LATER) -> list[str]:
        report = await sweep(
            self.aws,
            self.settings.avatar_bucket,
            self.users,
            grace=GRACE,
            max_deletes=max_deletes,
            now=now,
        )
        return report.deleted


@pytest.fixture
async def bucket(aws_env: dict[str, str]) -> AsyncIterator[Bucket]:
    suffix = uuid.uuid4().hex[:8]
    settings = Settings(table=f"users-{suffix}", avatar_bucket=f"avatars-{suffix}")
    async with open_aws(settings) as aws:
        await create_resources(aws, settings)
        yield Bucket(aws, settings, UserRepository(aws, settings.table))


async def test_old_objects_no_row_references_are_deleted_and_the_rest_stay(
    bucket: Bucket,
) -> None:
    user = await bucket.user()
    kept = await bucket.object(f"avatars/{user.id}/current.png")
    replaced = await bucket.object(f"avatars/{user.id}/previous.png")
    user_gone = await bucket.object(f"avatars/{uuid.uuid4().hex}/left.png")
    no_avatar = await bucket.user()
    unreferenced = await bucket.object(f"avatars/{no_avatar.id}/failed.png")
    other_shape = await bucket.object("avatars/readme.txt")
    await bucket.users.set_avatar(user.id, kept, "image/png")  # the row points at `kept`

    deleted = await bucket.sweep()

    assert sorted(deleted) == sorted([replaced, user_gone, unreferenced])
    assert await bucket.keys() == {kept, other_shape}


async def test_objects_younger_than_the_grace_period_stay(bucket: Bucket) -> None:
    # As a create whose row write is still in flight: the object exists, no row yet.
    in_flight = await bucket.object(f"avatars/{uuid.uuid4().hex}/new.png")

    deleted = await bucket.sweep(now=None)  # the real clock: the object is seconds old

    assert deleted == []
    assert await bucket.keys() == {in_flight}


async def test_a_run_deletes_at_most_its_bound_and_the_next_run_the_rest(bucket: Bucket) -> None:
    orphans = {await bucket.object(f"avatars/{uuid.uuid4().hex}/x.png") for _ in range(3)}

    first = await bucket.sweep(max_deletes=2)
    second = await bucket.sweep(max_deletes=2)

    assert len(first) == 2
    assert set(first) | set(second) == orphans
    assert await bucket.keys() == set()


async def test_the_entry_point_sweeps_with_the_settings_grace(bucket: Bucket) -> None:
    young = await bucket.object(f"avatars/{uuid.uuid4().hex}/x.png")
    # A grace far shorter than the test: the object is already past it.
    settings = bucket.settings.model_copy(update={"sweep_grace_s": 1e-6})

    report = await main(settings)

    assert report.deleted == [young]
    assert await bucket.keys() == set()
