"""SLOs as code: declarations, Prometheus burn-rate alerts, error budgets.

Each service declares its SLOs next to its app; `render_prometheus_rule` turns them
into a prometheus-operator `PrometheusRule` with:

- recording rules `slo:sli_error:ratio_rate<window>{slo=...}` for 5m, 30m, 1h, 6h, 3d;
- multi-window, multi-burn-rate alerts (Google SRE workbook, ch. 5, "Alerting on SLOs"):
  page when the burn rate exceeds 14.4x over 1h AND 5m, or 6x over 6h AND 30m;
  ticket when it exceeds 1x over 3d AND 6h. For a 99.9% objective over 30 days the
  14.4x page fires at an error ratio above 0.0144 (2% of the budget in one hour).

SLIs are computed from the server histogram every service exports
(`http_server_request_duration_seconds`), selected by `job="<service>"` (the
ServiceMonitor's job label) and optionally one route template.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from observability.metrics import REQUEST_DURATION
from resilience.metrics import CALL_DURATION

_WINDOW = re.compile(r"^(\d+)([mhd])$")


@dataclass(frozen=True)
class SLI:
    """What counts as good: a request that is not a 5xx (`availability`), one served within
    a threshold (`latency`), or an outbound call that got an answer (`calls`)."""

    kind: Literal["availability", "latency", "calls"]
    route: str | None = None
    threshold_s: float | None = None
    upstream: str | None = None


def availability(route: str | None = None) -> SLI:
    """Good = a response that is not a 5xx (4xx are the caller's errors)."""
    return SLI("availability", route=route)


# Outcomes of `resilience_call_duration_seconds` that gave the caller an answer.
ANSWERED_OUTCOMES = "success|fallback_.*"


def upstream_calls(upstream: str) -> SLI:
    """Good = a logical call to `upstream` that ended in an answer: a response (`success`)
    or the caller's fallback (`fallback_*`); bad = it gave up (unavailable, circuit open,
    deadline, bulkhead). From `resilience_call_duration_seconds{upstream, outcome}`: what
    a user of a GraphQL field sees, which the HTTP status (200 with `errors`) hides."""
    return SLI("calls", upstream=upstream)


def latency(threshold_s: float, route: str | None = None) -> SLI:
    """Good = served within `threshold_s` (must be a bucket edge of the histogram)."""
    if threshold_s <= 0:
        raise ValueError("latency threshold must be positive")
    return SLI("latency", route=route, threshold_s=threshold_s)


@dataclass(frozen=True)
class SLO:
    """A service level objective: `objective` of requests good over a rolling `window`.

    Defaults: 99.9% over 30 days, availability.
    """

    name: str
    objective: float = 0.999
    window: str = "30d"
    sli: SLI = field(default_factory=availability)
    description: str = ""

    def __post_init__(self) -> None:
        if not 0 < self.objective < 1:
            raise ValueError("objective must be strictly between 0 and 1")
        if not _WINDOW.match(self.window):
            raise ValueError("window must look like 30d, 6h or 5m")
        if not re.match(r"^[a-z0-9][a-z0-9_-]*$", self.name):
            raise ValueError("SLO names are lower-case identifiers (a-z, 0-9, _ and -)")

    @property
    def error_budget(self) -> float:
        """The fraction of requests allowed to be bad (1 - objective)."""
        return 1.0 - self.objective


@dataclass(frozen=True)
class BurnRateAlert:
    severity: Literal["page", "ticket"]
    factor: float
    long_window: str
    short_window: str


# Google SRE workbook, table 5-8 (recommended parameters for a 30-day SLO).
BURN_RATE_ALERTS: tuple[BurnRateAlert, ...] = (
    BurnRateAlert("page", 14.4, "1h", "5m"),
    BurnRateAlert("page", 6.0, "6h", "30m"),
    BurnRateAlert("ticket", 1.0, "3d", "6h"),
)
RECORDING_WINDOWS: tuple[str, ...] = ("5m", "30m", "1h", "6h", "3d")


PROBE_ROUTES = ("/livez", "/readyz", "/metrics")


def _selector(service: str, sli: SLI, extra: str = "") -> str:
    parts = [f'job="{service}"', f'http_route!~"{"|".join(PROBE_ROUTES)}"']
    if sli.route:
        parts.append(f'http_route="{sli.route}"')
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}"


def error_ratio_expr(service: str, slo: SLO, window: str) -> str:
    """PromQL for the ratio of bad requests over `window`."""
    if slo.sli.kind == "calls":
        calls = f'job="{service}",upstream="{slo.sli.upstream}"'
        total = f"sum(rate({CALL_DURATION}_count{{{calls}}}[{window}]))"
        failed = f'{{{calls},outcome!~"{ANSWERED_OUTCOMES}"}}'
        bad = f"sum(rate({CALL_DURATION}_count{failed}[{window}])) or vector(0)"
        return f"({bad}) / ({total})"
    total = f"sum(rate({REQUEST_DURATION}_count{_selector(service, slo.sli)}[{window}]))"
    if slo.sli.kind == "availability":
        bad_selector = _selector(service, slo.sli, 'http_response_status_code=~"5.."')
        # `or vector(0)`: with no 5xx at all there is no 5xx series, and a ratio over an
        # empty vector is empty, not 0 (found by Prometheus itself, not by the mocks).
        bad = f"sum(rate({REQUEST_DURATION}_count{bad_selector}[{window}])) or vector(0)"
        return f"({bad}) / ({total})"
    le = f'le="{_format_le(slo.sli.threshold_s)}"'
    good = f"sum(rate({REQUEST_DURATION}_bucket{_selector(service, slo.sli, le)}[{window}]))"
    return f"1 - (({good}) / ({total}))"


def _format_le(threshold: float | None) -> str:
    assert threshold is not None
    return repr(float(threshold))


def recording_rule_name(window: str) -> str:
    return f"slo:sli_error:ratio_rate{window}"


def render_prometheus_rule(
    service: str, slos: list[SLO] | tuple[SLO, ...], *, namespace: str = "platform"
) -> dict[str, Any]:
    """A prometheus-operator `PrometheusRule` (as a dict) for a service's SLOs."""
    groups: list[dict[str, Any]] = []
    for slo in slos:
        labels = {"service": service, "slo": slo.name}
        records = [
            {
                "record": recording_rule_name(w),
                "expr": error_ratio_expr(service, slo, w),
                "labels": dict(labels),
            }
            for w in RECORDING_WINDOWS
        ]
        alerts = []
        for alert in BURN_RATE_ALERTS:
            threshold = round(alert.factor * slo.error_budget, 10)
            sel = f'{{service="{service}",slo="{slo.name}"}}'
            expr = (
                f"{recording_rule_name(alert.long_window)}{sel} > {threshold:g}\n"
                f"and\n{recording_rule_name(alert.short_window)}{sel} > {threshold:g}"
            )
            alerts.append(
                {
                    "alert": f"{_camel(service)}{_camel(slo.name)}ErrorBudgetBurn",
                    "expr": expr,
                    "for": "2m" if alert.severity == "page" else "15m",
                    # The window tells the two pages apart (same name, same severity).
                    "labels": {**labels, "severity": alert.severity, "window": alert.long_window},
                    "annotations": {
                        "summary": (
                            f"{service} SLO {slo.name} is burning its error budget "
                            f"{alert.factor:g}x too fast ({alert.long_window}/{alert.short_window})"
                        ),
                        "description": (
                            f"Objective {slo.objective:.4%} over {slo.window}; error ratio above "
                            f"{threshold:g} over {alert.long_window} and {alert.short_window}."
                        ),
                        "runbook_url": "docs/runbooks/burn-rate-page.md",
                    },
                }
            )
        groups.append({"name": f"{service}-{slo.name}", "rules": [*records, *alerts]})
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": f"{service}-slos",
            "namespace": namespace,
            "labels": {"app.kubernetes.io/name": service, "release": "kube-prometheus-stack"},
        },
        "spec": {"groups": groups},
    }


def _camel(text: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[-_]", text))


@dataclass(frozen=True)
class ErrorBudget:
    """How much of the error budget is left, from good/total counts over the window."""

    objective: float
    good: float
    total: float

    @property
    def allowed_bad(self) -> float:
        return (1.0 - self.objective) * self.total

    @property
    def bad(self) -> float:
        return self.total - self.good

    @property
    def remaining_ratio(self) -> float:
        """1.0 = untouched, 0.0 = spent, negative = overspent; 1.0 with no traffic."""
        if self.total <= 0:
            return 1.0
        return 1.0 - self.bad / self.allowed_bad

    @property
    def compliance(self) -> float:
        return 1.0 if self.total <= 0 else self.good / self.total


def error_budget(objective: float, good: float, total: float) -> ErrorBudget:
    """The error budget left for `objective` given `good` of `total` requests."""
    if good < 0 or total < 0 or good > total:
        raise ValueError("need 0 <= good <= total")
    return ErrorBudget(objective=objective, good=good, total=total)


def observed_error_budgets(
    slos: list[SLO] | tuple[SLO, ...], registry: Any = None
) -> list[dict[str, Any]]:
    """Each SLO's good/total counts and budget left, from this process's own histogram.

    What one replica has seen since it started (Prometheus has the fleet-wide view over
    the SLO window); probes are left out as in the recording rules.
    """
    from prometheus_client import REGISTRY

    samples = [
        sample
        for metric in (registry or REGISTRY).collect()
        if metric.name == REQUEST_DURATION
        for sample in metric.samples
        if sample.labels.get("http_route") not in PROBE_ROUTES
    ]
    calls = [
        sample
        for metric in (registry or REGISTRY).collect()
        if metric.name == CALL_DURATION
        for sample in metric.samples
        if sample.name.endswith("_count")
    ]
    report = []
    for slo in slos:

        def selected(sample: Any, slo: SLO = slo) -> bool:
            return slo.sli.route is None or sample.labels.get("http_route") == slo.sli.route

        counts = [s for s in samples if s.name.endswith("_count") and selected(s)]
        total = sum(s.value for s in counts)
        if slo.sli.kind == "calls":
            mine = [s for s in calls if s.labels.get("upstream") == slo.sli.upstream]
            total = sum(s.value for s in mine)
            answered = re.compile(ANSWERED_OUTCOMES)
            good = sum(s.value for s in mine if answered.fullmatch(s.labels["outcome"]))
        elif slo.sli.kind == "availability":
            bad = sum(
                s.value for s in counts if s.labels["http_response_status_code"].startswith("5")
            )
            good = total - bad
        else:
            le = _format_le(slo.sli.threshold_s)
            good = sum(
                s.value
                for s in samples
                if s.name.endswith("_bucket") and selected(s) and s.labels.get("le") == le
            )
        budget = error_budget(slo.objective, good=good, total=total)
        report.append(
            {
                "name": slo.name,
                "objective": slo.objective,
                "window": slo.window,
                "sli": slo.sli.kind,
                "good": good,
                "total": total,
                "compliance": budget.compliance,
                "error_budget_remaining": budget.remaining_ratio,
            }
        )
    return report
