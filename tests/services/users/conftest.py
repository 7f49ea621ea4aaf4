"""users as a real uvicorn process against moto's server mode (DynamoDB + S3 over HTTP)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.moto import MotoEndpoint
from tests.fixtures.users import UsersService, start_users


@pytest.fixture(scope="module")
def users(moto_endpoint: MotoEndpoint) -> Iterator[UsersService]:
    service = start_users(moto_endpoint.env())
    try:
        yield service
    finally:
        service.process.stop()
