"""The catalog table: every row, read with a paginated Scan and typed on the way out.

One client per CatalogTable, created on first use (not at import: a process that only
answers 404s or serves from cache never pays for it). Numbers arrive as DynamoDB `N`
strings; `context_window` becomes an int and `score` a float, never a Decimal or
`128000.0`. A row that cannot be typed is skipped and counted, not allowed to fail the
whole list.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from catalog.dynamodb import Client, DynamoDBError, make_client
from catalog.settings import Settings

__all__ = ["CatalogTable", "DynamoDBError", "Model", "ScanResult", "decode_item"]

# Names go through placeholders so no attribute can ever collide with a reserved word.
PROJECTION = {
    "ProjectionExpression": "#n, #p, #c, #s",
    "ExpressionAttributeNames": {
        "#n": "model_name",
        "#p": "provider",
        "#c": "context_window",
        "#s": "score",
    },
}


@dataclass(frozen=True, slots=True)
class Model:
    """One catalog row as the API returns it."""

    model_name: str
    provider: str
    context_window: int
    score: float

    def to_json(self) -> dict[str, Any]:
        return {
            "model_name": self.model_name,
            "provider": self.provider,
            "context_window": self.context_window,
            "score": self.score,
        }


@dataclass(frozen=True, slots=True)
class ScanResult:
    models: tuple[Model, ...]
    pages: int
    skipped: int


def decode_item(item: Mapping[str, Any]) -> Model | None:
    """A Model from a low-level DynamoDB item, or None when a field is missing or mistyped."""
    try:
        window = Decimal(str(item["context_window"]["N"]))
        score = float(str(item["score"]["N"]))
        if not window.is_finite() or window != window.to_integral_value():
            return None
        return Model(
            model_name=str(item["model_name"]["S"]),
            provider=str(item["provider"]["S"]),
            context_window=int(window),
            score=score,
        )
    except (KeyError, TypeError, ValueError, ArithmeticError):
        return None


class CatalogTable:
    """Reads the whole table; `client_factory` builds the DynamoDB client on first use."""

    def __init__(
        self, settings: Settings, *, client_factory: Callable[[Settings], Client] = make_client
    ) -> None:
        self.settings = settings
        self._client_factory = client_factory
        self._client: Client | None = None

    @property
    def client(self) -> Client:
        if self._client is None:
            self._client = self._client_factory(self.settings)
        return self._client

    def scan_all(self) -> ScanResult:
        """Every row, following LastEvaluatedKey across all 1 MB pages; DynamoDBError on failure."""
        models: list[Model] = []
        skipped = 0
        pages = 0
        request: dict[str, Any] = {
            "TableName": self.settings.table_name,
            **PROJECTION,
        }
        while True:
            page = self.client.call("Scan", request)
            pages += 1
            for item in page.get("Items", []):
                model = decode_item(item)
                if model is None:
                    skipped += 1
                else:
                    models.append(model)
            last_key = page.get("LastEvaluatedKey")
            if not last_key:
                return ScanResult(models=tuple(models), pages=pages, skipped=skipped)
            request["ExclusiveStartKey"] = last_key
