"""SLOs as code: burn-rate rules (golden + numeric), error budgets, dashboards."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from observability import SLO, availability, latency
from observability.dashboards import render_dashboard
from observability.metrics import REQUEST_DURATION
from observability.slo import error_budget, render_prometheus_rule

GOLDEN = Path(__file__).with_name("golden_gateway_slos.yaml")
SLOS = [
    SLO("availability", objective=0.999, sli=availability()),
    SLO("invoke-latency", objective=0.99, sli=latency(2.5, route="/graphql")),
]


def render_yaml() -> str:
    return yaml.safe_dump(render_prometheus_rule("gateway", SLOS), sort_keys=False, width=100)


def test_rendered_rule_matches_the_golden_file() -> None:
    assert render_yaml() == GOLDEN.read_text()


def test_rule_has_the_prometheus_operator_shape() -> None:
    rule = yaml.safe_load(render_yaml())

    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["kind"] == "PrometheusRule"
    assert rule["metadata"]["name"] == "gateway-slos"
    for group in rule["spec"]["groups"]:
        assert group["name"]
        for entry in group["rules"]:
            assert ("record" in entry) != ("alert" in entry)
            assert entry["expr"]


def _alerts(rule: dict) -> list[dict]:
    return [r for g in rule["spec"]["groups"] for r in g["rules"] if "alert" in r]


def test_999_page_fires_above_0_0144_over_1h_and_5m() -> None:
    rule = render_prometheus_rule("gateway", [SLOS[0]])
    fast_page = next(
        a
        for a in _alerts(rule)
        if a["labels"]["severity"] == "page" and "ratio_rate1h" in a["expr"]
    )

    thresholds = {float(t) for t in re.findall(r"> ([0-9.e-]+)", fast_page["expr"])}
    assert thresholds == {0.0144}
    assert "ratio_rate5m" in fast_page["expr"]
    assert " and" in fast_page["expr"].replace("\n", " ")


@pytest.mark.parametrize(
    ("factor", "long_window", "short_window", "severity"),
    [(14.4, "1h", "5m", "page"), (6.0, "6h", "30m", "page"), (1.0, "3d", "6h", "ticket")],
)
def test_each_burn_rate_window_pair_scales_the_budget(
    factor: float, long_window: str, short_window: str, severity: str
) -> None:
    slo = SLO("availability", objective=0.995)
    alerts = _alerts(render_prometheus_rule("svc", [slo]))

    alert = next(a for a in alerts if f"ratio_rate{long_window}{{" in a["expr"])
    thresholds = {float(t) for t in re.findall(r"> ([0-9.e-]+)", alert["expr"])}
    assert len(thresholds) == 1
    assert thresholds.pop() == pytest.approx(factor * 0.005)
    assert f"ratio_rate{short_window}{{" in alert["expr"]
    assert alert["labels"]["severity"] == severity


def test_latency_sli_counts_requests_under_the_threshold_bucket() -> None:
    rule = render_prometheus_rule("gateway", [SLOS[1]])
    record = next(r for g in rule["spec"]["groups"] for r in g["rules"] if r.get("record"))

    assert 'le="2.5"' in record["expr"]
    assert 'http_route="/graphql"' in record["expr"]


def test_error_budget_remaining_from_counts() -> None:
    budget = error_budget(0.999, good=999_500, total=1_000_000)

    assert budget.allowed_bad == pytest.approx(1000)
    assert budget.remaining_ratio == pytest.approx(0.5)


def test_error_budget_with_no_traffic_is_untouched() -> None:
    assert error_budget(0.999, good=0, total=0).remaining_ratio == 1.0


@given(
    objective=st.floats(min_value=0.9, max_value=0.99999),
    total=st.integers(min_value=1, max_value=10**9),
    data=st.data(),
)
def test_error_budget_is_spent_exactly_at_the_objective(objective: float, total: int, data) -> None:
    good = data.draw(st.integers(min_value=0, max_value=total))
    budget = error_budget(objective, good=good, total=total)

    within_objective = good / total >= objective
    assert (budget.remaining_ratio >= -1e-9) == within_objective or abs(
        good / total - objective
    ) < 1e-9


@pytest.mark.parametrize("bad", [{"objective": 1.0}, {"window": "month"}, {"name": "Has Spaces"}])
def test_invalid_slo_is_refused(bad: dict) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        SLO(**{"name": "ok", **bad})


def test_every_dashboard_query_names_an_exported_metric() -> None:
    exported = {f"{REQUEST_DURATION}_count", f"{REQUEST_DURATION}_bucket"}
    recorded = {
        r["record"]
        for g in render_prometheus_rule("gateway", SLOS)["spec"]["groups"]
        for r in g["rules"]
        if "record" in r
    }
    dashboard = render_dashboard("gateway", SLOS)

    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert exprs
    for expr in exprs:
        names = set(re.findall(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{", expr))
        assert names, expr
        assert names <= exported | recorded, expr


def test_dashboard_has_red_heatmap_and_slo_panels() -> None:
    titles = [p["title"] for p in render_dashboard("gateway", SLOS)["panels"]]

    assert "Latency heatmap" in titles
    assert any("error budget remaining" in t for t in titles)
    assert any("burn rate" in t for t in titles)
    assert sum("SLO" in t for t in titles) == 3 * len(SLOS)


def test_an_upstream_calls_slo_counts_answers_and_fallbacks_as_good() -> None:
    from prometheus_client import CollectorRegistry, Histogram

    from observability.slo import observed_error_budgets, upstream_calls
    from resilience.metrics import CALL_DURATION

    registry = CollectorRegistry()
    calls = Histogram(CALL_DURATION, "calls", ["upstream", "outcome"], registry=registry)
    for outcome, count in (("success", 7), ("fallback_circuit_open", 1), ("circuit_open", 2)):
        for _ in range(count):
            calls.labels("remote", outcome).observe(0.01)
    calls.labels("other", "circuit_open").observe(0.01)

    (report,) = observed_error_budgets([SLO("x", sli=upstream_calls("remote"))], registry)

    assert (report["good"], report["total"]) == (8, 10)
