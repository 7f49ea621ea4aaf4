"""Real remote and gateway processes on loopback, plus small loopback fakes for the edge:
a recording upstream (what did the service receive?) and an OIDC issuer's JWKS endpoint.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self, cast

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from gateway.auth.api_keys import KeyStore
from tools.procs import LOOPBACK, ServerProcess, start_module

CHAOS_TOKEN = "test-chaos-token"
# The default fault profile, time-scaled 100x, without the hourly outage.
NO_OUTAGE = {"REMOTE_TIME_SCALE": "0.01", "REMOTE_OUTAGE_MINUTES": "0"}
CALM = {**NO_OUTAGE, "REMOTE_FAILURE_503_RATE": "0", "REMOTE_FAILURE_500_RATE": "0",
        "REMOTE_STALL_RATE": "0"}  # fmt: skip
# Rate limits off unless a test is about them: load tests send thousands of calls.
NO_RATE_LIMITS = {"GATEWAY_RATE_LIMIT_RPS": "0", "GATEWAY_ANON_RATE_LIMIT_RPS": "0"}
IDENTITY_SECRET = "test-identity-secret-0123456789abcdef"
ISSUER = "https://issuer.test"
AUDIENCE = "platform"


@dataclass
class Service:
    url: str
    process: ServerProcess

    def stop(self) -> None:
        self.process.kill()


def start_remote(seed: int, **env: str) -> Service:
    run_env = {"REMOTE_SEED": str(seed), "REMOTE_CHAOS_TOKEN": CHAOS_TOKEN, **env}
    return Service(*start_module("remote", "REMOTE_PORT", env=run_env, ready_path="/livez"))


def start_gateway(remotes: list[Service], **env: str) -> Service:
    run_env = {"GATEWAY_REMOTE_URLS": ",".join(r.url for r in remotes), **NO_RATE_LIMITS, **env}
    return Service(*start_module("gateway", "GATEWAY_PORT", env=run_env, ready_path="/livez"))


def invocations(remote: Service) -> int:
    return int(httpx.get(f"{remote.url}/_stats").json()["invocations"])


def chaos(remote: Service, **body: object) -> None:
    httpx.post(
        f"{remote.url}/_chaos", json=body, headers={"X-Chaos-Token": CHAOS_TOKEN}
    ).raise_for_status()


def api_key(key: str) -> dict[str, str]:
    return {"Authorization": f"Api-Key {key}"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def issue_key(db: Path, owner: str, *, admin: bool = False) -> str:
    """A fresh API key in `db` (the same code path as `python -m gateway.keys create`)."""
    return KeyStore(db).create(owner, roles=frozenset({"admin"} if admin else ())).key


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


# --- loopback fakes -----------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        app = cast(_LoopbackServer, self.server).owner
        status, payload = app.handle(self.command, self.path, self.headers, body)
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, format: str, *args: Any) -> None:
        return


class _LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True
    owner: LoopbackApp


class LoopbackApp:
    """A tiny HTTP server in a thread of the test process, so tests can read its state."""

    def __init__(self) -> None:
        self._server = _LoopbackServer((LOOPBACK, 0), _Handler)
        self._server.owner = self
        self.url = f"http://{LOOPBACK}:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def handle(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, Any]:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    query: str = ""
    body: bytes = b""


class RecordingUpstream(LoopbackApp):
    """Stands in for every internal service: answers 200 `{}` and records each request."""

    def __init__(self) -> None:
        super().__init__()
        self.received: list[Received] = []
        self._lock = threading.Lock()

    def handle(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, Any]:
        with self._lock:
            route, _, query = path.partition("?")
            self.received.append(Received(method, route, dict(headers.items()), query, body))
        return 200, {}

    def requests_to(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path == path]


@dataclass
class SigningKey:
    kid: str
    algorithm: str
    private: Any
    jwk: dict[str, Any]

    @classmethod
    def rsa(cls) -> SigningKey:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
        return cls._with(private, jwk, "RS256")

    @classmethod
    def ec(cls) -> SigningKey:
        private = ec.generate_private_key(ec.SECP256R1())
        jwk = ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
        return cls._with(private, jwk, "ES256")

    @classmethod
    def _with(cls, private: Any, jwk: dict[str, Any], algorithm: str) -> SigningKey:
        kid = uuid.uuid4().hex[:12]
        return cls(kid, algorithm, private, {**jwk, "kid": kid, "alg": algorithm, "use": "sig"})


@dataclass
class Issuer(LoopbackApp):
    """An offline OIDC issuer: publishes a JWKS on loopback and signs tokens."""

    published: list[SigningKey] = field(default_factory=list)
    fetches: int = 0

    def __post_init__(self) -> None:
        LoopbackApp.__init__(self)

    def handle(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, Any]:
        self.fetches += 1
        return 200, {"keys": [key.jwk for key in self.published]}

    @property
    def jwks_url(self) -> str:
        return f"{self.url}/jwks.json"

    def token(self, key: SigningKey, **overrides: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER, "aud": AUDIENCE, "sub": "carol", "iat": now, "nbf": now,
            "exp": now + 300, "roles": ["reader"],
        }  # fmt: skip
        claims.update(overrides)
        return jwt.encode(claims, key.private, algorithm=key.algorithm, headers={"kid": key.kid})


@dataclass
class SecuredPlatform:
    gateway: Service
    upstream: RecordingUpstream
    issuer: Issuer
    signing_key: SigningKey
    keys_db: Path
    user_key: str
    admin_key: str


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
