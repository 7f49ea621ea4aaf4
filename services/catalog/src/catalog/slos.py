"""The catalog's SLOs as data (docs/slo/catalog.md), next to the other services' `slos.py`.

The catalog runs on Lambda, outside the cluster: nobody scrapes it, so its SLIs come from
CloudWatch (the HTTP API stage's `5xx` / `Count` and `Latency`), not from the request
histogram the other services' PrometheusRules select on, and neither infra nor
`tools/slo_rules.py` renders Prometheus rules from these. They are the catalog's
objectives for CloudWatch alarms to be measured against (the multi-window burn-rate
alarms of docs/slo/catalog.md are not built yet).

The local adapter (`app.py`) hands them to `create_app`, as every service does. Importing
this module costs the Lambda nothing: the handler never imports it, and
`observability.slo` imports neither FastAPI nor pydantic.
"""

from __future__ import annotations

from observability.slo import SLO, availability, latency

SLOS: tuple[SLO, ...] = (
    SLO(
        "availability",
        objective=0.999,
        sli=availability(),
        description="1 - 5xx / Count on the HTTP API stage; served-stale answers are good",
    ),
    SLO(
        "latency",
        objective=0.99,
        sli=latency(0.3, route="/llms"),
        description="GET /llms within 300 ms at the stage (Latency p99 per 5-minute period)",
    ),
)
