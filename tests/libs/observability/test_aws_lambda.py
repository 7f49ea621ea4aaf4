"""The Lambda helper: stdlib only, same log shape, valid EMF."""

from __future__ import annotations

import io
import json
import subprocess
import sys

from observability.aws_lambda import LambdaTelemetry


def test_importing_the_lambda_helper_loads_no_web_framework() -> None:
    code = (
        "import sys, observability.aws_lambda; "
        "heavy = ('fastapi', 'pydantic', 'starlette', 'structlog'); "
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert out.stdout.strip() == "[]"


def test_log_line_has_the_service_log_shape() -> None:
    stream = io.StringIO()
    telemetry = LambdaTelemetry("catalog", stream=stream)
    telemetry.bind("aws-req-1")

    telemetry.log("served", route="/llms", status=200)

    line = json.loads(stream.getvalue())
    assert {"time", "level", "service", "event", "request_id"} <= line.keys()
    assert line["service"] == "catalog"
    assert line["request_id"] == "aws-req-1"
    assert line["route"] == "/llms"


def test_emf_line_declares_every_metric_it_carries() -> None:
    stream = io.StringIO()
    telemetry = LambdaTelemetry("catalog", namespace="Platform", stream=stream)

    telemetry.metrics(
        {"CacheHit": (1, "Count"), "Latency": (2.5, "Milliseconds")}, dimensions={"route": "/llms"}
    )

    doc = json.loads(stream.getvalue())
    directive = doc["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "Platform"
    assert {m["Name"] for m in directive["Metrics"]} == {"CacheHit", "Latency"}
    assert all(dimension in doc for dimension in directive["Dimensions"][0])
    assert doc["CacheHit"] == 1
    assert doc["Latency"] == 2.5
