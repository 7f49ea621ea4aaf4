"""The remote's SLO as data: the one definition that the app serves on /slo, that infra
renders into its PrometheusRule (dev stacks only) and that `tools/slo_rules.py` checks
with promtool. No web imports.
"""

from __future__ import annotations

from observability.slo import SLO

# remote fails on purpose; its SLO is about being reachable, not successful.
SLOS: tuple[SLO, ...] = (SLO("reachable", objective=0.9, window="7d"),)
