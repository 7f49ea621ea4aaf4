"""Dev-only provisioning (`USERS_CREATE_RESOURCES=true`): the table and the private,
encrypted bucket, as infra creates them in the cloud. Idempotent."""

from __future__ import annotations

from botocore.exceptions import ClientError

from users.aws import Aws, error_code
from users.settings import Settings

EXISTS = {"ResourceInUseException", "BucketAlreadyOwnedByYou", "BucketAlreadyExists"}


async def create_resources(aws: Aws, settings: Settings) -> None:
    try:
        await aws.dynamodb.create_table(
            TableName=settings.table,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    except ClientError as error:
        if error_code(error) not in EXISTS:
            raise
    bucket: dict = {"Bucket": settings.avatar_bucket}
    if settings.aws_region != "us-east-1":
        bucket["CreateBucketConfiguration"] = {"LocationConstraint": settings.aws_region}
    try:
        await aws.s3.create_bucket(**bucket)
    except ClientError as error:
        if error_code(error) not in EXISTS:
            raise
    await aws.s3.put_public_access_block(
        Bucket=settings.avatar_bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
