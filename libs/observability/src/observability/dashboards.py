"""Dashboards as code: a Grafana dashboard per service from its metrics and SLOs.

Panels: request rate, error ratio and p50/p99 latency by route (RED), a latency
heatmap, and per SLO the compliance, the error budget remaining and the burn rate.
Every query names only `http_server_request_duration_seconds*` (exported by every
service via `create_app`) or the `slo:*` recording rules rendered by
`observability.slo`, so the dashboard cannot drift from what is exported.
"""

from __future__ import annotations

from typing import Any

from observability.metrics import REQUEST_DURATION
from observability.slo import SLO, error_ratio_expr, recording_rule_name


def _panel(
    panel_id: int,
    title: str,
    kind: str,
    exprs: list[tuple[str, str]],
    grid: dict[str, int],
    **extra: Any,
) -> dict[str, Any]:
    return {
        "id": panel_id,
        "title": title,
        "type": kind,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": grid,
        "targets": [
            {"refId": chr(ord("A") + i), "expr": expr, "legendFormat": legend}
            for i, (expr, legend) in enumerate(exprs)
        ],
        **extra,
    }


def render_dashboard(service: str, slos: list[SLO] | tuple[SLO, ...]) -> dict[str, Any]:
    """A Grafana dashboard (JSON model as a dict) for `service`."""
    sel = f'job="{service}"'
    count, bucket = f"{REQUEST_DURATION}_count", f"{REQUEST_DURATION}_bucket"
    rate_by_route = f"sum by (http_route) (rate({count}{{{sel}}}[5m]))"
    errors_by_route = (
        f'sum by (http_route) (rate({count}{{{sel},http_response_status_code=~"5.."}}[5m]))'
    )
    buckets_by_route = f"sum by (le, http_route) (rate({bucket}{{{sel}}}[5m]))"
    panels: list[dict[str, Any]] = [
        _panel(
            1, "Request rate by route", "timeseries",
            [(rate_by_route, "{{http_route}}")],
            {"x": 0, "y": 0, "w": 8, "h": 8}, fieldConfig={"defaults": {"unit": "reqps"}},
        ),
        _panel(
            2, "Error ratio (5xx) by route", "timeseries",
            [(f"{errors_by_route} / {rate_by_route}", "{{http_route}}")],
            {"x": 8, "y": 0, "w": 8, "h": 8}, fieldConfig={"defaults": {"unit": "percentunit"}},
        ),
        _panel(
            3, "Latency p50 / p99 by route", "timeseries",
            [
                (f"histogram_quantile(0.5, {buckets_by_route})", "p50 {{http_route}}"),
                (f"histogram_quantile(0.99, {buckets_by_route})", "p99 {{http_route}}"),
            ],
            {"x": 16, "y": 0, "w": 8, "h": 8}, fieldConfig={"defaults": {"unit": "s"}},
        ),
        _panel(
            4, "Latency heatmap", "heatmap",
            [(f"sum by (le) (increase({bucket}{{{sel}}}[1m]))", "{{le}}")],
            {"x": 0, "y": 8, "w": 24, "h": 8}, options={"calculate": False},
        ),
    ]  # fmt: skip
    y = 16
    for offset, slo in enumerate(slos):
        slo_sel = f'{{service="{service}",slo="{slo.name}"}}'
        base = 10 + offset * 3
        budget = slo.error_budget
        ratio = error_ratio_expr(service, slo, slo.window)
        burn = [(f"{recording_rule_name(w)}{slo_sel} / {budget:g}", w) for w in ("5m", "1h", "6h")]
        panels += [
            _panel(
                base, f"SLO {slo.name}: compliance ({slo.window})", "stat",
                [(f"1 - ({ratio})", "compliance")],
                {"x": 0, "y": y, "w": 8, "h": 6},
                fieldConfig={"defaults": {"unit": "percentunit", "decimals": 3}},
            ),
            _panel(
                base + 1, f"SLO {slo.name}: error budget remaining", "stat",
                [(f"1 - (({ratio}) / {budget:g})", "remaining")],
                {"x": 8, "y": y, "w": 8, "h": 6},
                fieldConfig={"defaults": {"unit": "percentunit"}},
            ),
            _panel(
                base + 2, f"SLO {slo.name}: burn rate", "timeseries", burn,
                {"x": 16, "y": y, "w": 8, "h": 6},
            ),
        ]  # fmt: skip
        y += 6
    return {
        "uid": f"platform-{service}",
        "title": f"platform / {service}",
        "tags": ["platform", service, "slo"],
        "timezone": "utc",
        "schemaVersion": 39,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {
            "list": [{"name": "datasource", "type": "datasource", "query": "prometheus"}]
        },
        "panels": panels,
    }
