"""Avatar objects in a private S3 bucket: validated upload, delete, presigned read.

Objects are never public: readers get a short-lived presigned URL from
`GET /users/{id}/avatar`. Every object is encrypted at rest (SSE-S3, or SSE-KMS when a
key is configured) and stored with the content type sniffed from its bytes.
"""

from __future__ import annotations

import os
import uuid
from typing import IO, Any

from observability import get_logger
from users.aws import Aws
from users.settings import Settings
from users.sniff import ACCEPTED, SNIFF_BYTES, ImageType, sniff_image

log = get_logger(__name__)
ACCEPTED_NAMES = ", ".join(kind.content_type for kind in ACCEPTED)


class AvatarRejected(Exception):
    """An uploaded file that cannot be an avatar; the subclasses say why."""


class AvatarTooLarge(AvatarRejected):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"avatars are at most {max_bytes} bytes")


class EmptyAvatar(AvatarRejected):
    def __init__(self) -> None:
        super().__init__("the avatar file is empty")


class NotAnImage(AvatarRejected):
    """Judged by the file's bytes (`users.sniff`), never its name or declared type."""

    def __init__(self) -> None:
        super().__init__(f"the avatar's content is not an accepted image ({ACCEPTED_NAMES})")


def inspect_upload(file: IO[bytes], max_bytes: int) -> tuple[ImageType, int]:
    """The image type and size of an uploaded file; AvatarTooLarge, EmptyAvatar or
    NotAnImage when it cannot be an avatar.

    The file is the multipart parser's spooled temporary file (on disk past 1 MiB), so
    measuring it costs no memory; the request body itself was capped while streaming by
    the app's body limits (`users.app`).
    """
    file.seek(0, os.SEEK_END)
    size = file.tell()
    if size > max_bytes:
        raise AvatarTooLarge(max_bytes)
    if size == 0:
        raise EmptyAvatar()
    file.seek(0)
    kind = sniff_image(file.read(SNIFF_BYTES))
    file.seek(0)
    if kind is None:
        raise NotAnImage()
    return kind, size


class AvatarStore:
    def __init__(self, aws: Aws, settings: Settings) -> None:
        self.aws = aws
        self.bucket = settings.avatar_bucket
        self.kms_key_id = settings.avatar_kms_key_id
        self.presign_ttl_s = settings.presign_ttl_s

    def new_key(self, user_id: str, kind: ImageType) -> str:
        return f"avatars/{user_id}/{uuid.uuid4().hex}.{kind.extension}"

    async def put(self, key: str, file: IO[bytes], size: int, kind: ImageType) -> None:
        encryption: dict[str, Any] = {"ServerSideEncryption": "AES256"}
        if self.kms_key_id:
            encryption = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self.kms_key_id}

        async def upload() -> Any:
            file.seek(0)
            return await self.aws.s3.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=file,
                ContentLength=size,
                ContentType=kind.content_type,
                CacheControl="private, max-age=300",
                **encryption,
            )

        await self.aws.on_s3(upload)

    async def delete(self, key: str) -> None:
        await self.aws.on_s3(lambda: self.aws.s3.delete_object(Bucket=self.bucket, Key=key))

    async def delete_quietly(self, key: str) -> None:
        """Best-effort cleanup after a failed write; a leftover is logged for the sweeper."""
        try:
            await self.delete(key)
        except Exception:  # the original failure matters more than the cleanup's
            log.warning("avatar_cleanup_failed", bucket=self.bucket, key=key)

    async def presigned_url(self, key: str) -> str:
        return await self.aws.s3.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": key},
            ExpiresIn=self.presign_ttl_s,
        )
