"""Tracing costs nothing without an exporter and is sampled parent-based with one."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

from observability.tracing import _sampler, instrument_app


def _layers(app: FastAPI) -> list[type]:
    return [layer.cls for layer in app.user_middleware]  # type: ignore[misc]


def test_without_an_exporter_no_server_span_layer_is_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    app = FastAPI()

    instrument_app(app, provider=None)  # type: ignore[arg-type]

    assert OpenTelemetryMiddleware not in _layers(app)


def test_new_traces_are_sampled_at_the_configured_ratio_keeping_the_callers_decision(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OTEL_TRACES_SAMPLER", raising=False)
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "0.25")

    sampler = _sampler()

    assert sampler is not None
    description = sampler.get_description()
    assert description.startswith("ParentBased{root:TraceIdRatioBased{0.25},")
    assert "remoteParentSampled:AlwaysOnSampler" in description
    assert "remoteParentNotSampled:AlwaysOffSampler" in description


def test_the_default_ratio_is_one_trace_in_ten(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_TRACES_SAMPLER", raising=False)
    monkeypatch.delenv("OTEL_TRACES_SAMPLER_ARG", raising=False)

    sampler = _sampler()

    assert sampler is not None
    assert "TraceIdRatioBased{0.1}" in sampler.get_description()
