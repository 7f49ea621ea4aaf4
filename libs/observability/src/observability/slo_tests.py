"""promtool unit tests for the burn-rate alerts, generated from the same SLO definitions.

`render_rule_tests(service, slos, rule_file)` returns a `promtool test rules` document
whose synthetic series burn each SLO's error budget at a chosen rate, and the alerts
that must (and must not) fire, as Sloth and Pyrra users test their generated rules:

- 20x the budget: the fast page (1h/5m) and the slow page (6h/30m) fire once their
  `for` has passed, not before;
- 8x: only the slow page fires; the ticket (3d/6h) joins it after its own `for`;
- 0.9x: nothing fires, even after 7 hours;
- 20x for 30 minutes, then no errors: both pages resolve; the ticket stays, since the
  6h and 3d windows still hold more than 1x the budget.

And with traffic but no errors, every recording rule must be 0, not absent.

A burn rate the SLO cannot reach (20x of a 10 % budget is an error ratio above 1) is
left out, and `unreachable_alerts()` names the alerts that can therefore never fire.
Because the cases derive from the SLOs and the rules, a changed objective, window or
selector cannot drift from its tests.
"""

from __future__ import annotations

from typing import Any

from observability.metrics import REQUEST_DURATION
from observability.slo import (
    BURN_RATE_ALERTS,
    RECORDING_WINDOWS,
    SLO,
    recording_rule_name,
    render_prometheus_rule,
)
from resilience.metrics import CALL_DURATION

REQUESTS_PER_MINUTE = 10_000  # enough that every tested ratio is a whole count
ROUTE = "/synthetic"  # any route that is not a probe, when the SLO names none


def _counter(per_minute: int, minutes: int, *, stop_at: int | None = None) -> str:
    """promtool values: a counter rising by `per_minute`, flat from `stop_at` on."""
    if stop_at is None or per_minute == 0:
        return f"0+{per_minute}x{minutes}"
    top = per_minute * stop_at
    return f"0+{per_minute}x{stop_at} {top}+0x{minutes - stop_at - 1}"


def _series(
    service: str, slo: SLO, error_ratio: float, minutes: int, *, recover_at: int | None
) -> list[dict[str, str]]:
    """Series whose rates give `error_ratio` (errors stop at `recover_at`, if given)."""
    bad = round(REQUESTS_PER_MINUTE * error_ratio)
    good = REQUESTS_PER_MINUTE - bad
    if slo.sli.kind == "calls":
        calls = f'{CALL_DURATION}_count{{job="{service}",upstream="{slo.sli.upstream}"'
        answered = {
            "series": f'{calls},outcome="success"}}',
            "values": _good(good, bad, minutes, recover_at),
        }
        failed = {
            "series": f'{calls},outcome="upstream_unavailable"}}',
            "values": _counter(bad, minutes, stop_at=recover_at),
        }
        return [answered, failed] if bad else [answered]
    labels = f'job="{service}",http_route="{slo.sli.route or ROUTE}",http_request_method="GET"'
    if slo.sli.kind == "availability":
        ok = f'{REQUEST_DURATION}_count{{{labels},http_response_status_code="200"}}'
        failed = f'{REQUEST_DURATION}_count{{{labels},http_response_status_code="500"}}'
        series = [
            # After recovery every request succeeds: the good ones rise at the full rate.
            {"series": ok, "values": _good(good, bad, minutes, recover_at)},
            {"series": failed, "values": _counter(bad, minutes, stop_at=recover_at)},
        ]
        return series if bad else series[:1]  # no errors yet: no 5xx series at all
    le = repr(float(slo.sli.threshold_s or 0))
    all_ = f'{REQUEST_DURATION}_count{{{labels},http_response_status_code="200"}}'
    fast = f'{REQUEST_DURATION}_bucket{{{labels},http_response_status_code="200",le="{le}"}}'
    return [
        {"series": fast, "values": _good(good, bad, minutes, recover_at)},
        {"series": all_, "values": _counter(REQUESTS_PER_MINUTE, minutes)},
    ]


def _good(good: int, bad: int, minutes: int, recover_at: int | None) -> str:
    if recover_at is None:
        return _counter(good, minutes)
    start = good * recover_at + good + bad
    return f"0+{good}x{recover_at} {start}+{good + bad}x{minutes - recover_at - 1}"


def _alert_rules(service: str, slo: SLO) -> list[dict[str, Any]]:
    for group in render_prometheus_rule(service, [slo])["spec"]["groups"]:
        return [rule for rule in group["rules"] if "alert" in rule]
    return []


def _expected(rules: list[dict[str, Any]], windows: set[str]) -> list[dict[str, Any]]:
    return [
        {"exp_labels": rule["labels"], "exp_annotations": rule["annotations"]}
        for rule in rules
        if rule["labels"]["window"] in windows
    ]


def reachable(slo: SLO, factor: float) -> bool:
    return factor * slo.error_budget < 1.0


def unreachable_alerts(service: str, slos: list[SLO] | tuple[SLO, ...]) -> list[str]:
    """`alertname/window` of every burn-rate alert whose threshold is an error ratio of
    1 or more: no traffic can ever fire it."""
    return [
        f"{rule['alert']}/{rule['labels']['window']}"
        for slo in slos
        for rule, alert in zip(_alert_rules(service, slo), BURN_RATE_ALERTS, strict=True)
        if not reachable(slo, alert.factor)
    ]


# (title, burn factor, minutes of data, [(minute, windows expected firing)], recovery)
Case = tuple[str, float, int, list[tuple[int, set[str]]], int | None]
CASES: tuple[Case, ...] = (
    ("20x burn pages on both windows after `for`", 20, 60, [(1, set()), (5, {"1h", "6h"})], None),
    ("8x burn pages the slow window, then tickets", 8, 60, [(5, {"6h"}), (30, {"6h", "3d"})], None),
    ("0.9x burn fires nothing", 0.9, 7 * 60, [(60, set()), (7 * 60, set())], None),
    ("recovery resolves the pages, the ticket stays", 20, 120,
     [(25, {"1h", "6h", "3d"}), (100, {"3d"})], 30),
)  # fmt: skip


def _test(service: str, slo: SLO, case: Case) -> dict[str, Any] | None:
    title, factor, minutes, checks, recover_at = case
    if not reachable(slo, factor):
        return None
    rules = _alert_rules(service, slo)
    series = _series(service, slo, factor * slo.error_budget, minutes, recover_at=recover_at)
    return {
        "name": f"{service}/{slo.name}: {title}",
        "interval": "1m",
        "input_series": series,
        "alert_rule_test": [
            {
                "eval_time": f"{minute}m",
                "alertname": rules[0]["alert"],
                "exp_alerts": _expected(rules, windows),
            }
            for minute, windows in checks
        ],
    }


def _no_errors(service: str, slo: SLO) -> dict[str, Any]:
    """With traffic and no errors every recording rule is 0, not absent."""
    return {
        "name": f"{service}/{slo.name}: no errors records 0 on every window",
        "interval": "1m",
        "input_series": _series(service, slo, 0.0, 60, recover_at=None),
        "promql_expr_test": [
            {
                "expr": f'{recording_rule_name(window)}{{service="{service}",slo="{slo.name}"}}',
                "eval_time": "10m",
                "exp_samples": [{"labels": _recorded_labels(service, slo, window), "value": 0}],
            }
            for window in RECORDING_WINDOWS
        ],
    }


def _recorded_labels(service: str, slo: SLO, window: str) -> str:
    return f'{recording_rule_name(window)}{{service="{service}",slo="{slo.name}"}}'


def render_rule_tests(
    service: str, slos: list[SLO] | tuple[SLO, ...], rule_file: str
) -> dict[str, Any]:
    """A `promtool test rules` document for `service`'s generated rules in `rule_file`."""
    tests = [test for slo in slos for case in CASES if (test := _test(service, slo, case))]
    tests += [_no_errors(service, slo) for slo in slos]
    return {"rule_files": [rule_file], "evaluation_interval": "1m", "tests": tests}


def count_expr_cases(document: dict[str, Any]) -> int:
    return sum(len(test.get("promql_expr_test", ())) for test in document["tests"])


def count_alert_cases(document: dict[str, Any]) -> int:
    return sum(len(test.get("alert_rule_test", ())) for test in document["tests"])
