"""Observability for AWS Lambda handlers, stdlib only (cold starts pay for imports).

The same JSON log shape as the services (`time`, `level`, `service`, `event`,
`request_id`, fields) and CloudWatch Embedded Metric Format lines, which CloudWatch
turns into metrics without any API call from the function.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TextIO


class LambdaTelemetry:
    """JSON logs and EMF metrics for one function; bind the request id per invocation."""

    def __init__(
        self, service: str, *, namespace: str = "Platform", stream: TextIO | None = None
    ) -> None:
        self.service = service
        self.namespace = namespace
        self.stream = stream or sys.stdout
        self.request_id: str | None = None

    def bind(self, request_id: str | None) -> None:
        """Set the request id (the Lambda context's aws_request_id) for following lines."""
        self.request_id = request_id

    def log(self, event: str, *, level: str = "info", **fields: Any) -> None:
        line: dict[str, Any] = {
            "time": datetime.now(UTC).isoformat(),
            "level": level,
            "service": self.service,
            "event": event,
        }
        if self.request_id:
            line["request_id"] = self.request_id
        line.update(fields)
        self.stream.write(json.dumps(line, default=str) + "\n")

    def metrics(
        self,
        values: Mapping[str, tuple[float, str]],
        *,
        dimensions: Mapping[str, str] | None = None,
    ) -> None:
        """One EMF line: `values` maps metric name → (value, CloudWatch unit)."""
        dims = {"service": self.service, **(dimensions or {})}
        document: dict[str, Any] = {
            "_aws": {
                "Timestamp": int(time.time() * 1000),
                "CloudWatchMetrics": [
                    {
                        "Namespace": self.namespace,
                        "Dimensions": [sorted(dims)],
                        "Metrics": [
                            {"Name": name, "Unit": unit} for name, (_, unit) in values.items()
                        ],
                    }
                ],
            },
            **dims,
            **{name: value for name, (value, _) in values.items()},
        }
        if self.request_id:
            document["request_id"] = self.request_id
        self.stream.write(json.dumps(document) + "\n")
