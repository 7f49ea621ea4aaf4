"""Reading the table: pagination past 1 MB, typing, and the stdlib client's signature."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import botocore.auth
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from catalog.dynamodb import LiteClient, sigv4_headers
from catalog.settings import ClientKind, Settings
from catalog.table import CatalogTable, decode_item
from tests.fixtures.catalog import create_seeded_table, dynamodb, make_catalog

PADDING = "x" * 20_000  # ~20 KB per item: 120 items is ~2.4 MB, three Scan pages


def write_padded_items(client: Any, table_name: str, count: int) -> None:
    requests = [
        {
            "PutRequest": {
                "Item": {
                    "model_name": {"S": f"padded-{i:04d}"},
                    "provider": {"S": "Pad"},
                    "context_window": {"N": str(1000 + i)},
                    "score": {"N": f"{i / 10:.1f}"},
                    "padding": {"S": PADDING},
                }
            }
        }
        for i in range(count)
    ]
    for start in range(0, count, 25):
        batch = {table_name: requests[start : start + 25]}
        while batch:
            batch = client.batch_write_item(RequestItems=batch).get("UnprocessedItems") or {}


@pytest.mark.parametrize("client_kind", ["lite", "boto3"])
def test_scan_follows_every_page_of_a_table_over_1_mb(
    moto_endpoint: Any, aws_env: dict[str, str], client_kind: ClientKind
) -> None:
    table_name = create_seeded_table(moto_endpoint.url)
    client = dynamodb(moto_endpoint.url)
    write_padded_items(client, table_name, 120)
    first_page = client.scan(TableName=table_name)
    assert "LastEvaluatedKey" in first_page  # the table really is larger than one page
    table = CatalogTable(
        Settings(table_name=table_name, endpoint_url=moto_endpoint.url, dynamodb_client=client_kind)
    )

    result = table.scan_all()

    assert result.pages >= 3
    assert len(result.models) == 124
    assert len({m.model_name for m in result.models}) == 124


def test_the_list_endpoint_returns_all_items_of_a_large_table(
    moto_endpoint: Any, aws_env: dict[str, str]
) -> None:
    table_name = create_seeded_table(moto_endpoint.url)
    write_padded_items(dynamodb(moto_endpoint.url), table_name, 120)
    catalog = make_catalog(moto_endpoint.url, table_name)

    response = catalog({"version": "2.0", "rawPath": "/llms", "requestContext": {}})

    assert response["body"].count('"model_name"') == 124
    assert "padding" not in response["body"]


def test_decode_types_numbers() -> None:
    item = {
        "model_name": {"S": "m"},
        "provider": {"S": "p"},
        "context_window": {"N": "128000"},
        "score": {"N": "95.5"},
    }

    model = decode_item(item)

    assert model is not None
    assert (type(model.context_window), type(model.score)) == (int, float)


@pytest.mark.parametrize(
    "broken",
    [
        {"context_window": {"N": "1.5"}},
        {"context_window": {"S": "128000"}},
        {"score": {"N": "NaN-ish"}},
        {"provider": None},
    ],
)
def test_decode_rejects_a_malformed_row(broken: dict[str, Any]) -> None:
    item = {
        "model_name": {"S": "m"},
        "provider": {"S": "p"},
        "context_window": {"N": "1"},
        "score": {"N": "1"},
        **broken,
    }

    assert decode_item(item) is None


def test_malformed_rows_are_skipped_not_fatal(moto_endpoint: Any, aws_env: dict[str, str]) -> None:
    table_name = create_seeded_table(moto_endpoint.url)
    dynamodb(moto_endpoint.url).put_item(
        TableName=table_name, Item={"model_name": {"S": "no-numbers"}, "provider": {"S": "X"}}
    )
    table = CatalogTable(Settings(table_name=table_name, endpoint_url=moto_endpoint.url))

    result = table.scan_all()

    assert (len(result.models), result.skipped) == (4, 1)


@pytest.mark.parametrize("token", [None, "session-token"])
def test_lite_signature_matches_botocore_sigv4(
    token: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = b'{"TableName":"llm_scores"}'
    now = datetime(2024, 5, 1, 12, 30, 45, tzinfo=UTC)
    secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: now.replace(tzinfo=None))
    request = AWSRequest(
        method="POST",
        url="https://dynamodb.eu-west-1.amazonaws.com/",
        data=body,
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "DynamoDB_20120810.Scan",
        },
    )
    SigV4Auth(Credentials("AKIDEXAMPLE", secret, token), "dynamodb", "eu-west-1").add_auth(request)

    ours = sigv4_headers(
        host="dynamodb.eu-west-1.amazonaws.com",
        region="eu-west-1",
        target="DynamoDB_20120810.Scan",
        body=body,
        access_key="AKIDEXAMPLE",
        secret_key=secret,
        token=token,
        now=now,
    )

    assert ours["authorization"] == request.headers["Authorization"]


def test_lite_client_errors_carry_the_dynamodb_error_type(
    moto_endpoint: Any, aws_env: dict[str, str]
) -> None:
    client = LiteClient(
        region="us-east-1",
        endpoint_url=moto_endpoint.url,
        access_key="testing",
        secret_key="testing",
    )

    with pytest.raises(Exception, match="ResourceNotFoundException"):
        client.call("Scan", {"TableName": "no_such_table"})
