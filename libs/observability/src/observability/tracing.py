"""OpenTelemetry tracing: W3C `traceparent` in (FastAPI) and out (httpx).

With `OTEL_EXPORTER_OTLP_ENDPOINT` set, server spans are created for every route but
the probes and exported over OTLP/HTTP, sampled parent-based: a caller's sampling
decision is kept, and new traces are sampled at `OTEL_TRACES_SAMPLER_ARG` (default
0.1; `OTEL_TRACES_SAMPLER` picks another sampler, as the OTel SDK defines). Without
an exporter no server span is made at all (it would cost a third of a small
request for nothing): the caller's `traceparent` is still continued, so its trace id
reaches the log lines and the outbound calls (`ObservabilityMiddleware`).
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
from opentelemetry.sdk.trace.sampling import ParentBased, Sampler, TraceIdRatioBased

_provider: TracerProvider | None = None
PROBE_PATHS = "livez,readyz,metrics"
DEFAULT_SAMPLE_RATIO = 0.1


def exporting() -> bool:
    """True when spans leave the process (an OTLP endpoint is configured)."""
    return bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"))


def _sampler() -> Sampler | None:
    if os.environ.get("OTEL_TRACES_SAMPLER"):
        return None  # the SDK builds the one named
    ratio = float(os.environ.get("OTEL_TRACES_SAMPLER_ARG", DEFAULT_SAMPLE_RATIO))
    return ParentBased(TraceIdRatioBased(ratio))


def configure_tracing(service: str, version: str) -> TracerProvider:
    """Install the process's tracer provider once (OTel allows one per process)."""
    global _provider
    if _provider is None:
        _provider = TracerProvider(
            resource=Resource.create({"service.name": service, "service.version": version}),
            sampler=_sampler(),
        )
        if exporting():
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            _provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(_provider)
        HTTPXClientInstrumentor().instrument(tracer_provider=_provider)
    return _provider


def instrument_app(app: FastAPI, provider: TracerProvider) -> None:
    """Server spans for every route but the probes, continuing inbound `traceparent`,
    when they are exported (see the module docstring)."""
    if not exporting():
        return
    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=provider, excluded_urls=PROBE_PATHS, exclude_spans=["receive", "send"]
    )
