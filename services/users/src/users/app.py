"""The users app: users in DynamoDB, private avatars in S3."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

import observability
from observability import ReadinessCheck
from observability.edge import BodyLimits
from users.api import ERRORS, router
from users.avatars import AvatarStore
from users.aws import Aws, open_aws
from users.repository import UserRepository
from users.resources import create_resources
from users.service import UserService
from users.settings import Settings
from users.slos import SLOS

# Room for the multipart envelope around a full-size avatar; the file is checked exactly.
MULTIPART_ENVELOPE_BYTES = 64 * 1024


def create_app(settings: Settings | None = None) -> FastAPI:
    """users; with no settings they come from the environment."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_aws(settings) as aws:
            if settings.create_resources:
                if settings.env == "prod":
                    raise RuntimeError("USERS_CREATE_RESOURCES is for dev only")
                await create_resources(aws, settings)
            app.state.aws = aws
            app.state.users = UserService(
                UserRepository(aws, settings.table),
                AvatarStore(aws, settings),
                settings.max_avatar_bytes,
            )
            yield

    def _aws(app: FastAPI) -> Aws:
        return app.state.aws

    async def table_answers() -> None:
        aws = _aws(app)
        await aws.on_dynamodb(lambda: aws.dynamodb.describe_table(TableName=settings.table))

    async def bucket_answers() -> None:
        aws = _aws(app)
        await aws.on_s3(lambda: aws.s3.head_bucket(Bucket=settings.avatar_bucket))

    app = observability.create_app(
        "users",
        settings,
        lifespan=lifespan,
        slos=SLOS,
        readiness_checks=[
            ReadinessCheck("dynamodb", table_answers, timeout=3.0),
            ReadinessCheck("s3", bucket_answers, timeout=3.0),
        ],
        description="Users in DynamoDB, private avatars in S3.",
        identity_secrets=settings.identity_secrets,
        errors=ERRORS,
        # Capped while it streams (chunked bodies too), so an oversized upload is
        # refused before the multipart parser spools it.
        body_limits=BodyLimits(max_bytes=settings.max_avatar_bytes + MULTIPART_ENVELOPE_BYTES),
    )
    app.include_router(router)
    return app
