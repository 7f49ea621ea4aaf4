"""Real remote and gateway processes on loopback, plus small loopback fakes for the edge:
a recording upstream (what did the service receive?) and an OIDC issuer's JWKS endpoint.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.gateway import (
    AUDIENCE,
    CALM,
    IDENTITY_SECRET,
    ISSUER,
    Issuer,
    RecordingUpstream,
    SecuredPlatform,
    Service,
    SigningKey,
    issue_key,
    start_gateway,
    start_remote,
)


@pytest.fixture(scope="module")
def keys_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("gateway-keys") / "keys.db"


@pytest.fixture(scope="module")
def calm_platform(keys_db: Path) -> Iterator[tuple[Service, Service]]:
    remote = start_remote(seed=1, **CALM)
    gateway = start_gateway([remote], GATEWAY_KEYS_DB=str(keys_db))
    try:
        yield gateway, remote
    finally:
        gateway.stop()
        remote.stop()


@pytest.fixture(scope="module")
def secured(keys_db: Path) -> Iterator[SecuredPlatform]:
    """A gateway with keys, an OIDC issuer, a signing secret and every service faked."""
    signing_key = SigningKey.rsa()
    with RecordingUpstream() as upstream, Issuer(published=[signing_key]) as issuer:
        user_key, admin_key = issue_key(keys_db, "alice"), issue_key(keys_db, "root", admin=True)
        services = {f"GATEWAY_{name}_URL": upstream.url for name in
                    ("DUMBKV", "USERS", "PREDICTOR", "CATALOG")}  # fmt: skip
        gateway = start_gateway(
            [],
            GATEWAY_READY_REQUIRES_REMOTE="false",
            GATEWAY_KEYS_DB=str(keys_db),
            GATEWAY_OIDC_ISSUER=ISSUER,
            GATEWAY_OIDC_AUDIENCE=AUDIENCE,
            GATEWAY_OIDC_JWKS_URL=issuer.jwks_url,
            GATEWAY_OIDC_JWKS_MIN_REFRESH_S="0",
            GATEWAY_ADMIN_API="true",
            GATEWAY_CORS_ORIGINS="https://app.example",
            PLATFORM_IDENTITY_SECRET=IDENTITY_SECRET,
            **services,
        )
        try:
            yield SecuredPlatform(
                gateway, upstream, issuer, signing_key, keys_db, user_key, admin_key
            )
        finally:
            gateway.stop()
