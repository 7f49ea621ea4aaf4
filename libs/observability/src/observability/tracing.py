"""OpenTelemetry tracing: W3C `traceparent` in (FastAPI) and out (httpx).

Spans are exported over OTLP/HTTP only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set;
otherwise spans are still created (so trace ids reach the logs and propagate to
upstreams) but nothing is printed or sent.
"""

from __future__ import annotations

import os

from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

_provider: TracerProvider | None = None
PROBE_PATHS = "livez,readyz,metrics"


def configure_tracing(service: str, version: str) -> TracerProvider:
    """Install the process's tracer provider once (OTel allows one per process)."""
    global _provider
    if _provider is None:
        _provider = TracerProvider(
            resource=Resource.create({"service.name": service, "service.version": version})
        )
        if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            _provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(_provider)
        HTTPXClientInstrumentor().instrument(tracer_provider=_provider)
    return _provider


def instrument_app(app: FastAPI, provider: TracerProvider) -> None:
    """Server spans for every route but the probes, continuing inbound `traceparent`."""
    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=provider, excluded_urls=PROBE_PATHS, exclude_spans=["receive", "send"]
    )
