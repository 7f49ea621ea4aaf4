"""`python -m catalog.seed [--file data.json] [--create-table]`: idempotent table seeding.

Rows are written with PutItem semantics (BatchWriteItem), keyed by `model_name`, so
running it twice leaves the same table. `--create-table` creates the table (on-demand
capacity, hash key `model_name`) when it does not exist. A data file is a JSON array of
`{"model_name", "provider", "context_window", "score"}` objects. Runs with boto3: this is
an operator tool, not the Lambda path.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from catalog.settings import Settings
from catalog.table import Model

DEFAULT_ROWS: tuple[Model, ...] = (
    Model("GPT-4", "OpenAI", 128000, 95.5),
    Model("Claude 3 Opus", "Anthropic", 200000, 96.0),
    Model("Llama 3 70B", "Meta", 8192, 89.5),
    Model("Gemini 1.5 Pro", "Google", 1000000, 94.8),
)


def load_rows(path: Path) -> list[Model]:
    """Rows from a JSON file; ValueError naming the first bad row."""
    data = json.loads(path.read_text())
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a JSON array of models")
    rows = []
    for index, row in enumerate(data):
        try:
            window, score = row["context_window"], row["score"]
            if isinstance(window, bool) or not isinstance(window, int):
                raise TypeError("context_window must be an integer")
            if isinstance(score, bool) or not isinstance(score, int | float):
                raise TypeError("score must be a number")
            rows.append(Model(str(row["model_name"]), str(row["provider"]), window, float(score)))
        except (KeyError, TypeError) as error:
            raise ValueError(f"{path}: row {index}: {error}") from error
    return rows


def to_item(model: Model) -> dict[str, Any]:
    return {
        "model_name": {"S": model.model_name},
        "provider": {"S": model.provider},
        "context_window": {"N": str(model.context_window)},
        "score": {"N": str(Decimal(repr(model.score)))},
    }


def ensure_table(client: Any, table_name: str) -> bool:
    """Create the table if missing and wait until it is active; True when created."""
    try:
        client.describe_table(TableName=table_name)
        return False
    except client.exceptions.ResourceNotFoundException:
        pass
    try:
        client.create_table(
            TableName=table_name,
            KeySchema=[{"AttributeName": "model_name", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "model_name", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    except client.exceptions.ResourceInUseException:  # created concurrently: fine
        return False
    client.get_waiter("table_exists").wait(TableName=table_name)
    return True


def seed(client: Any, table_name: str, rows: Iterable[Model]) -> int:
    """Upsert `rows` (batches of 25, unprocessed items retried); the number written."""
    pending = [{"PutRequest": {"Item": to_item(row)}} for row in rows]
    written = len(pending)
    for start in range(0, len(pending), 25):
        batch: dict[str, Any] = {table_name: pending[start : start + 25]}
        while batch:
            response = client.batch_write_item(RequestItems=batch)
            batch = response.get("UnprocessedItems") or {}
    return written


def make_client(settings: Settings) -> Any:
    import boto3

    return boto3.client("dynamodb", region_name=settings.region, endpoint_url=settings.endpoint_url)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m catalog.seed", description=__doc__)
    parser.add_argument("--file", type=Path, help="JSON array of models (default: 4 rows)")
    parser.add_argument("--create-table", action="store_true", help="create it if missing")
    parser.add_argument("--table", help="table name (default: TABLE_NAME or llm_scores)")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    table_name = args.table or settings.table_name
    rows = load_rows(args.file) if args.file else list(DEFAULT_ROWS)
    client = make_client(settings)
    if args.create_table and ensure_table(client, table_name):
        print(f"catalog.seed: created table {table_name}")
    count = seed(client, table_name, rows)
    print(f"catalog.seed: {count} models in {table_name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
