"""`python -m catalog.seed` creates the table and is idempotent."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from tests.fixtures.catalog import dynamodb


def run_seed(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "catalog.seed", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def items(url: str, table_name: str) -> list[dict[str, Any]]:
    rows = dynamodb(url).scan(TableName=table_name)["Items"]
    return sorted(rows, key=lambda item: item["model_name"]["S"])


def test_seed_twice_leaves_the_four_default_rows(
    moto_endpoint: Any, aws_env: dict[str, str]
) -> None:
    table_name = f"llm_scores_{uuid.uuid4().hex[:10]}"
    env = {**aws_env, "PATH": "/usr/bin:/bin", "TABLE_NAME": table_name}

    first = run_seed(env, "--create-table")
    after_first = items(moto_endpoint.url, table_name)
    run_seed(env, "--create-table")

    assert "created table" in first.stdout
    assert items(moto_endpoint.url, table_name) == after_first
    assert {row["model_name"]["S"]: row["context_window"]["N"] for row in after_first} == {
        "GPT-4": "128000",
        "Claude 3 Opus": "200000",
        "Llama 3 70B": "8192",
        "Gemini 1.5 Pro": "1000000",
    }


def test_seed_from_a_file_upserts_its_rows(
    moto_endpoint: Any, aws_env: dict[str, str], tmp_path: Path
) -> None:
    table_name = f"llm_scores_{uuid.uuid4().hex[:10]}"
    env = {**aws_env, "PATH": "/usr/bin:/bin", "TABLE_NAME": table_name}
    data = tmp_path / "data.json"
    data.write_text(
        json.dumps([{"model_name": "M", "provider": "P", "context_window": 4096, "score": 50}])
    )

    run_seed(env, "--create-table", "--file", str(data))
    run_seed(env, "--file", str(data))

    assert [row["score"]["N"] for row in items(moto_endpoint.url, table_name)] == ["50.0"]
