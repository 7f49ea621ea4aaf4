"""Async AWS clients (aiobotocore via aioboto3) and the resilience policy around them.

botocore's own retries are reduced to one attempt: `resilience.Guard` owns retries
(with a budget, so an AWS brown-out is not amplified) and the breaker, like every other
outbound call on the platform.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import aioboto3
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from resilience import Breaker, Guard, Policy, ResilienceError, Retry, Timeout
from users.settings import Settings

T = TypeVar("T")

TRANSIENT_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "SlowDown",
    }
)


class TransientAwsError(Exception):
    """A throttle or 5xx from AWS: worth a retry within the budget."""


class AwsUnavailable(Exception):
    """DynamoDB or S3 cannot be reached now (retries spent, or the breaker is open)."""

    def __init__(self, service: str) -> None:
        super().__init__(f"{service} is unavailable; try again shortly")
        self.service = service


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _policy(settings: Settings) -> Policy:
    return Policy(
        timeout=Timeout(per_try=settings.aws_timeout_s, total=settings.aws_timeout_s * 2.5),
        retry=Retry(
            attempts=3,
            retry_on_exceptions=(
                TransientAwsError,
                EndpointConnectionError,
                ConnectionClosedError,
                ReadTimeoutError,
            ),
        ),
        breaker=Breaker(window=30.0, failure_rate=0.5, min_calls=10, open_for=5.0),
        bulkhead=None,
        hedge=None,
    )


@dataclass
class Aws:
    """One DynamoDB and one S3 client for the process, each behind its own `Guard`."""

    dynamodb: Any
    s3: Any
    dynamodb_guard: Guard
    s3_guard: Guard

    async def on_dynamodb(self, operation: Callable[[], Awaitable[T]]) -> T:
        return await _guarded(self.dynamodb_guard, operation)

    async def on_s3(self, operation: Callable[[], Awaitable[T]]) -> T:
        return await _guarded(self.s3_guard, operation)


async def _guarded(guard: Guard, operation: Callable[[], Awaitable[T]]) -> T:
    """Run one AWS call; throttles become retryable and an unreachable AWS AwsUnavailable."""

    async def attempt() -> T:
        try:
            return await operation()
        except ClientError as error:
            if error_code(error) in TRANSIENT_CODES:
                raise TransientAwsError(error_code(error)) from error
            raise

    try:
        return await guard.call(attempt)
    except ResilienceError as error:
        raise AwsUnavailable(guard.name) from error


@asynccontextmanager
async def open_aws(settings: Settings) -> AsyncIterator[Aws]:
    """Clients for the lifetime of the app (connection pools are reused across calls)."""
    session = aioboto3.Session(region_name=settings.aws_region)
    config = Config(
        retries={"max_attempts": 1, "mode": "standard"},
        connect_timeout=settings.aws_timeout_s,
        read_timeout=settings.aws_timeout_s,
        max_pool_connections=50,
        signature_version="s3v4",
    )
    async with AsyncExitStack() as stack:
        clients: list[Any] = []
        for service in ("dynamodb", "s3"):
            # aioboto3 ships no type stubs: the client factory is untyped.
            factory: Any = session.client(
                service, endpoint_url=settings.aws_endpoint_url, config=config
            )
            clients.append(await stack.enter_async_context(factory))
        dynamodb, s3 = clients
        policy = _policy(settings)
        yield Aws(dynamodb, s3, Guard("dynamodb", policy=policy), Guard("s3", policy=policy))
