"""Use cases that touch both stores, ordered so a failure leaves nothing dangling.

Object first, then the row that points at it; when the row write fails the new object
is deleted. A row therefore never points at a missing object, and an orphan object can
only survive a crash between the two writes or a failed cleanup (logged as
`avatar_cleanup_failed`; `python -m users.sweep` deletes them).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import IO

from identity import Identity
from users.avatars import AvatarStore, inspect_upload
from users.repository import UserRecord, UserRepository

# Raises Forbidden when the caller may not change this user.
Authorize = Callable[[UserRecord], None]


class Forbidden(Exception):
    def __init__(self) -> None:
        super().__init__("you may only change your own user")


class SignInRequired(Exception):
    def __init__(self) -> None:
        super().__init__("sign in to create a user")


class NoAvatar(Exception):
    def __init__(self) -> None:
        super().__init__("this user has no avatar")


def owner_for_create(who: Identity | None) -> str | None:
    """Who a new user belongs to: its creator's subject, None when identity is not
    enforced (users run on its own); SignInRequired for anonymous callers."""
    if who is None:
        return None
    if who.is_anonymous:
        raise SignInRequired()
    return who.subject


def may_change(who: Identity | None) -> Authorize:
    """A caller may change only the users it created; admins may change any (and anyone
    may when identity is not enforced)."""

    def authorize(user: UserRecord) -> None:
        if who is None or who.is_admin:
            return
        if who.is_anonymous or user.owner != who.subject:
            raise Forbidden()

    return authorize


class UserService:
    def __init__(self, users: UserRepository, avatars: AvatarStore, max_avatar_bytes: int) -> None:
        self.users = users
        self.avatars = avatars
        self.max_avatar_bytes = max_avatar_bytes

    async def create(
        self, name: str, email: str, avatar: IO[bytes] | None, *, owner: str | None = None
    ) -> UserRecord:
        user = UserRecord(
            id=uuid.uuid4().hex,
            name=name,
            email=email,
            created_at=datetime.now(UTC).isoformat(timespec="milliseconds"),
            owner=owner,
        )
        if avatar is None:
            await self.users.create(user)
            return user
        kind, size = inspect_upload(avatar, self.max_avatar_bytes)
        key = self.avatars.new_key(user.id, kind)
        await self.avatars.put(key, avatar, size, kind)
        user = replace(user, avatar_key=key, avatar_content_type=kind.content_type)
        try:
            await self.users.create(user)
        except BaseException:
            await self.avatars.delete_quietly(key)
            raise
        return user

    async def replace_avatar(
        self, user_id: str, avatar: IO[bytes], authorize: Authorize = lambda _user: None
    ) -> UserRecord:
        kind, size = inspect_upload(avatar, self.max_avatar_bytes)
        user = await self.users.get(user_id)  # 404 before anything is uploaded
        authorize(user)
        key = self.avatars.new_key(user.id, kind)
        await self.avatars.put(key, avatar, size, kind)
        try:
            previous = await self.users.set_avatar(user.id, key, kind.content_type)
        except BaseException:
            await self.avatars.delete_quietly(key)
            raise
        if previous and previous != key:
            await self.avatars.delete_quietly(previous)
        return replace(user, avatar_key=key, avatar_content_type=kind.content_type)

    async def avatar_url(self, user_id: str) -> str:
        """A short-lived presigned URL of the user's avatar; NoAvatar if it has none."""
        user = await self.users.get(user_id)
        if not user.avatar_key:
            raise NoAvatar()
        return await self.avatars.presigned_url(user.avatar_key)

    async def delete(self, user_id: str, authorize: Authorize = lambda _user: None) -> None:
        user = await self.users.get(user_id)
        authorize(user)
        await self.users.delete(user)
        if user.avatar_key:
            await self.avatars.delete_quietly(user.avatar_key)
