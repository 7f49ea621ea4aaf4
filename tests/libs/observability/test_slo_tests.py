"""The promtool cases generated from SLOs (promtool itself runs them: `make test`)."""

from __future__ import annotations

from observability.slo import SLO, availability, latency, render_prometheus_rule
from observability.slo_tests import count_alert_cases, render_rule_tests, unreachable_alerts

GATEWAY = [
    SLO("availability", objective=0.999, sli=availability()),
    SLO("invoke-latency", objective=0.99, sli=latency(2.5, route="/graphql")),
]


def test_every_slo_gets_every_case_it_can_reach() -> None:
    document = render_rule_tests("gateway", GATEWAY, "gateway.rules.yml")

    names = [test["name"] for test in document["tests"]]
    assert len(names) == 10  # 4 alert cases + 1 recording-rule case, x 2 SLOs
    assert count_alert_cases(document) == 16
    assert document["rule_files"] == ["gateway.rules.yml"]


def test_a_latency_case_feeds_the_bucket_its_slo_selects() -> None:
    document = render_rule_tests("gateway", GATEWAY[1:], "gateway.rules.yml")

    series = [s["series"] for s in document["tests"][0]["input_series"]]
    assert any('le="2.5"' in s and 'http_route="/graphql"' in s for s in series)


def test_expected_alerts_are_the_generated_rules_labels() -> None:
    rules = render_prometheus_rule("gateway", GATEWAY[:1])["spec"]["groups"][0]["rules"]
    page = next(r for r in rules if r.get("labels", {}).get("window") == "1h")

    fast = render_rule_tests("gateway", GATEWAY[:1], "x")["tests"][0]["alert_rule_test"][1]

    assert page["labels"] in [alert["exp_labels"] for alert in fast["exp_alerts"]]


def test_a_burn_rate_above_a_ratio_of_one_is_reported_unreachable() -> None:
    remote = [SLO("reachable", objective=0.9, window="7d")]

    assert unreachable_alerts("remote", remote) == ["RemoteReachableErrorBudgetBurn/1h"]
    cases = [test["name"] for test in render_rule_tests("remote", remote, "x")["tests"]]
    assert not any("20x" in name for name in cases)
