"""users as a real uvicorn process against moto's server mode (DynamoDB + S3 over HTTP)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from tests.conftest import MotoEndpoint
from tools.procs import ServerProcess, start_module

# The smallest valid PNG (1x1, RGBA) and a JPEG header are enough for content sniffing.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64


@dataclass
class UsersService:
    url: str
    process: ServerProcess
    table: str
    bucket: str
    aws_env: dict[str, str]

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.aws_env["AWS_ENDPOINT_URL"],
            region_name=self.aws_env["AWS_REGION"],
            aws_access_key_id=self.aws_env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.aws_env["AWS_SECRET_ACCESS_KEY"],
        )

    def s3(self) -> Any:
        return self.client("s3")

    def recreate_resources(self) -> None:
        """The table and bucket, as after restoring a (fresh, empty) local AWS."""
        self.client("dynamodb").create_table(
            TableName=self.table,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        self.s3().create_bucket(Bucket=self.bucket)

    def avatar_keys(self, user_id: str = "") -> list[str]:
        prefix = f"avatars/{user_id}/" if user_id else "avatars/"
        listing = self.s3().list_objects_v2(Bucket=self.bucket, Prefix=prefix)
        return sorted(item["Key"] for item in listing.get("Contents", []))


def start_users(aws_env: dict[str, str], **extra: str) -> UsersService:
    suffix = uuid.uuid4().hex[:8]
    table, bucket = f"users-{suffix}", f"avatars-{suffix}"
    run_env = {
        **aws_env,
        "USERS_TABLE": table,
        "USERS_AVATAR_BUCKET": bucket,
        "USERS_CREATE_RESOURCES": "true",
        "USERS_AWS_TIMEOUT_S": "1.0",
        **extra,
    }
    url, process = start_module("users", "USERS_PORT", env=run_env, ready_timeout=60)
    return UsersService(url, process, table, bucket, aws_env)


@pytest.fixture(scope="module")
def users(moto_endpoint: MotoEndpoint) -> Iterator[UsersService]:
    service = start_users(moto_endpoint.env())
    try:
        yield service
    finally:
        service.process.stop()
