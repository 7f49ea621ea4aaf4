"""The gateway's SLOs as data (docs/slo/gateway.md): the one definition that the app serves
on /slo, that infra renders into its PrometheusRule and Grafana dashboard, and that
`tools/slo_rules.py` checks with promtool. No web imports: infra and the rule generator
import it without the gateway's stack.
"""

from __future__ import annotations

from gateway.contract import GRAPHQL_PATH
from observability.slo import SLO, availability, latency, upstream_calls

SLOS: tuple[SLO, ...] = (
    SLO("availability", objective=0.999, sli=availability()),
    SLO("invoke-latency", objective=0.99, sli=latency(2.5, route=GRAPHQL_PATH)),
    # An invoke that failed is a GraphQL error in an HTTP 200: counted from the calls.
    SLO("invoke-availability", objective=0.99, sli=upstream_calls("remote")),
)
