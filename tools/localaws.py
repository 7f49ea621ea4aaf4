"""Local AWS: moto's server mode on loopback (DynamoDB, S3), for `make run` and tests."""

from __future__ import annotations

import sys
from pathlib import Path

from tools.procs import LOOPBACK, ServerProcess, free_port

REGION = "us-east-1"


def moto_process(port: int | None = None, *, output=None) -> ServerProcess:
    """A not-yet-started `moto_server` bound to loopback (ready when /moto-api/ answers)."""
    port = port or free_port()
    moto = Path(sys.executable).with_name("moto_server")
    return ServerProcess(
        "local-aws",
        [str(moto), "-H", LOOPBACK, "-p", str(port)],
        ready_url=f"http://{LOOPBACK}:{port}/moto-api/",
        output=output,
    )


def start_moto(port: int | None = None) -> ServerProcess:
    """Start `moto_server` on loopback and wait until it answers."""
    return moto_process(port).start().wait_ready()


def endpoint_url(process: ServerProcess) -> str:
    """The base URL (http://127.0.0.1:PORT) of a moto process."""
    assert process.ready_url is not None
    return process.ready_url.removesuffix("/moto-api/")


def client_env(url: str) -> dict[str, str]:
    """Environment pointing boto3/aioboto3 at a local endpoint with dummy credentials."""
    return {
        "AWS_ENDPOINT_URL": url,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",  # moto accepts any credentials
    }
