"""dumbkv's SLOs as data (docs/slo/dumbkv.md): the one definition that the app serves on
/slo, that infra renders into its PrometheusRule and Grafana dashboard, and that
`tools/slo_rules.py` checks with promtool. No web imports.
"""

from __future__ import annotations

from observability.slo import SLO, availability, latency

SLOS: tuple[SLO, ...] = (
    SLO("availability", objective=0.999, sli=availability()),
    SLO("latency", objective=0.99, sli=latency(0.25)),
)
