"""The Lambda path's imports, checked in a fresh interpreter (what a cold start loads)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from tests.fixtures.catalog import create_seeded_table

PROBE = """
import json, sys
from catalog.handler import lambda_handler
at_import = sorted(sys.modules)
response = lambda_handler({"version": "2.0", "rawPath": "/llms", "requestContext": {}}, None)
print(json.dumps({"at_import": at_import, "after_call": sorted(sys.modules),
                  "status": response["statusCode"]}), file=sys.stderr)
"""
HEAVY = ("fastapi", "pydantic", "uvicorn", "starlette", "boto3", "botocore")


def probe(env: dict[str, str]) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stderr.strip().splitlines()[-1])


def loaded(modules: list[str]) -> set[str]:
    return {name.split(".")[0] for name in modules} & set(HEAVY)


def test_lambda_import_and_first_call_load_no_framework_nor_boto3(
    moto_endpoint: Any, aws_env: dict[str, str]
) -> None:
    table_name = create_seeded_table(moto_endpoint.url)

    report = probe({**aws_env, "TABLE_NAME": table_name})

    assert report["status"] == 200
    assert loaded(report["at_import"]) == set()
    assert loaded(report["after_call"]) == set()


def test_without_static_credentials_boto3_is_loaded_on_first_call_only(
    moto_endpoint: Any, aws_env: dict[str, str]
) -> None:
    table_name = create_seeded_table(moto_endpoint.url)
    env = {**aws_env, "TABLE_NAME": table_name, "CATALOG_DYNAMODB_CLIENT": "boto3"}

    report = probe(env)

    assert report["status"] == 200
    assert loaded(report["at_import"]) == set()
    assert loaded(report["after_call"]) == {"boto3", "botocore"}


def test_prime_at_init_loads_the_catalog_during_import(
    moto_endpoint: Any, aws_env: dict[str, str]
) -> None:
    table_name = create_seeded_table(moto_endpoint.url)
    code = (
        "import sys\n"
        "from catalog.handler import lambda_handler\n"
        "print('imported', flush=True)\n"
        "event = {'version': '2.0', 'rawPath': '/llms', 'requestContext': {}}\n"
        "print(lambda_handler(event, None)['headers']['x-cache'], file=sys.stderr)\n"
    )
    env = {**aws_env, "TABLE_NAME": table_name, "CATALOG_PRIME_AT_INIT": "true"}

    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 0, result.stderr
    primed_during_import = result.stdout.split("imported")[0]
    assert '"event": "primed"' in primed_during_import
    assert result.stderr.strip().splitlines()[-1] == "HIT"  # the first call reads no table
