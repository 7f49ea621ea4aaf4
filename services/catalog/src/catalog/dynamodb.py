"""The DynamoDB wire client: one lazily created instance per process, two implementations.

`LiteClient` speaks DynamoDB's JSON protocol (POST, `X-Amz-Target`, SigV4) with the
standard library only. It exists because it pays for itself: importing boto3 costs
~300 ms of a Lambda cold start (measured by bench/catalog_cold_start.py), more than the
rest of the handler together, and this service needs exactly one read operation. It
takes credentials from the environment, as Lambda provides them on-demand.

`Boto3Client` wraps a low-level `boto3.client("dynamodb")` (never a resource: resources
build classes from JSON models and convert numbers to Decimal). `make_client` picks it
when the environment has no static credentials (SnapStart, which vends credentials from
a container endpoint, profiles, SSO), or when CATALOG_DYNAMODB_CLIENT=boto3.

Both return the low-level attribute-value shape (`{"S": ...}`, `{"N": ...}`) and raise
`DynamoDBError` for any failure, so the table module does not know which one it has.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import os
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

from catalog.settings import Settings

API_VERSION = "DynamoDB_20120810"
_SNAKE = re.compile(r"(?<!^)(?=[A-Z])")


class DynamoDBError(Exception):
    """DynamoDB could not answer: unreachable, throttled, bad request or server error."""


class Client(Protocol):
    def call(self, operation: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Run one DynamoDB operation (e.g. "Scan") with its JSON request; the response."""
        ...


def sigv4_headers(
    *,
    host: str,
    region: str,
    target: str,
    body: bytes,
    access_key: str,
    secret_key: str,
    token: str | None,
    now: datetime,
) -> dict[str, str]:
    """Headers for a signed DynamoDB JSON request (AWS Signature Version 4, service dynamodb).

    The same canonical request botocore's SigV4Auth builds for this request shape (the
    test suite checks the Authorization header against botocore's, byte for byte).
    """
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    headers = {
        "content-type": "application/x-amz-json-1.0",
        "host": host,
        "x-amz-date": amz_date,
        "x-amz-target": target,
    }
    if token:
        headers["x-amz-security-token"] = token
    signed = sorted(headers)
    canonical = "\n".join(
        [
            "POST",
            "/",
            "",
            *(f"{name}:{headers[name]}" for name in signed),
            "",
            ";".join(signed),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{day}/{region}/dynamodb/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = f"AWS4{secret_key}".encode()
    for part in (day, region, "dynamodb", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, "
        f"SignedHeaders={';'.join(signed)}, Signature={signature}"
    )
    return headers


class LiteClient:
    """DynamoDB over one kept-alive HTTP(S) connection, stdlib only (see module doc).

    A request that fails on a reused connection (closed by the server while idle, or
    frozen in a SnapStart snapshot) is retried once on a fresh connection; anything
    else is a DynamoDBError at once: the cache above serves the last good copy.
    """

    def __init__(
        self,
        *,
        region: str,
        endpoint_url: str | None,
        access_key: str,
        secret_key: str,
        token: str | None = None,
        timeout_s: float = 3.0,
    ) -> None:
        url = urlsplit(endpoint_url or f"https://dynamodb.{region}.amazonaws.com")
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"unsupported DynamoDB endpoint: {endpoint_url!r}")
        self._https = url.scheme == "https"
        self._host = url.hostname
        self._port = url.port
        self._host_header = url.netloc
        self._region = region
        self._credentials = (access_key, secret_key, token)
        self._timeout = timeout_s
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            self._conn = cls(self._host, self._port, timeout=self._timeout)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def call(self, operation: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        body = json.dumps(payload).encode()
        access_key, secret_key, token = self._credentials
        headers = sigv4_headers(
            host=self._host_header,
            region=self._region,
            target=f"{API_VERSION}.{operation}",
            body=body,
            access_key=access_key,
            secret_key=secret_key,
            token=token,
            now=datetime.now(UTC),
        )
        for attempt in (1, 2):
            reused = self._conn is not None
            try:
                conn = self._connection()
                conn.request("POST", "/", body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                break
            except (OSError, http.client.HTTPException) as error:
                self.close()
                if attempt == 2 or not reused:
                    raise DynamoDBError(f"{operation}: {type(error).__name__}: {error}") from error
        else:  # pragma: no cover - the loop always breaks or raises
            raise AssertionError("unreachable")
        try:
            document = json.loads(data) if data else {}
        except ValueError as error:
            raise DynamoDBError(f"{operation}: HTTP {response.status}, not JSON") from error
        if response.status != 200:
            kind = str(document.get("__type", "")).rpartition("#")[2] or "HTTPError"
            message = document.get("message") or document.get("Message") or ""
            raise DynamoDBError(f"{operation}: HTTP {response.status} {kind}: {message}")
        return document


class Boto3Client:
    """A low-level boto3 DynamoDB client behind the same `call` as LiteClient."""

    def __init__(self, *, region: str, endpoint_url: str | None, timeout_s: float) -> None:
        import boto3  # deferred: ~300 ms, paid only by the processes that use it
        from botocore.config import Config

        config = Config(
            connect_timeout=timeout_s,
            read_timeout=timeout_s,
            retries={"mode": "standard", "max_attempts": 2},
        )
        self._client = boto3.client(
            "dynamodb", region_name=region, endpoint_url=endpoint_url, config=config
        )

    def call(self, operation: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        method = getattr(self._client, _SNAKE.sub("_", operation).lower())
        try:
            return dict(method(**payload))
        except (BotoCoreError, ClientError) as error:
            raise DynamoDBError(f"{operation}: {error}") from error


def make_client(settings: Settings, env: Mapping[str, str] | None = None) -> Client:
    """The client `settings.dynamodb_client` asks for; "auto" is lite when the environment
    holds static credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), else boto3."""
    env = os.environ if env is None else env
    access_key = env.get("AWS_ACCESS_KEY_ID")
    secret_key = env.get("AWS_SECRET_ACCESS_KEY")
    kind = settings.dynamodb_client
    if kind == "auto":
        kind = "lite" if access_key and secret_key else "boto3"
    if kind == "boto3":
        return Boto3Client(
            region=settings.region,
            endpoint_url=settings.endpoint_url,
            timeout_s=settings.dynamodb_timeout_s,
        )
    if not (access_key and secret_key):
        raise DynamoDBError("CATALOG_DYNAMODB_CLIENT=lite needs AWS_ACCESS_KEY_ID/SECRET in env")
    return LiteClient(
        region=settings.region,
        endpoint_url=settings.endpoint_url,
        access_key=access_key,
        secret_key=secret_key,
        token=env.get("AWS_SESSION_TOKEN") or None,
        timeout_s=settings.dynamodb_timeout_s,
    )
