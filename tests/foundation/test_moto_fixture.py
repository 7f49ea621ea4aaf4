"""The shared local-AWS fixture is a real HTTP endpoint speaking DynamoDB and S3."""

from __future__ import annotations

import uuid

import boto3

from tests.fixtures.moto import MotoEndpoint


def test_moto_server_stores_an_item_and_an_object(moto_endpoint: MotoEndpoint) -> None:
    env = moto_endpoint.env()
    session = boto3.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_REGION"],
    )
    dynamodb = session.client("dynamodb", endpoint_url=moto_endpoint.url)
    s3 = session.client("s3", endpoint_url=moto_endpoint.url)
    table, bucket = f"probe-{uuid.uuid4().hex[:8]}", f"probe-{uuid.uuid4().hex[:8]}"

    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(TableName=table, Item={"id": {"S": "1"}, "note": {"S": "stored"}})
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"bytes")

    item = dynamodb.get_item(TableName=table, Key={"id": {"S": "1"}})["Item"]
    body = s3.get_object(Bucket=bucket, Key="k")["Body"].read()
    assert item["note"]["S"] == "stored"
    assert body == b"bytes"
    assert moto_endpoint.url.startswith("http://127.0.0.1:")
