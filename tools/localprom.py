"""A local Prometheus for `make run` and the live-metrics tests: Debian's `prometheus`
scraping every service on loopback, with every generated SLO rule loaded.

Each service is one scrape job named as the service (the remote's three replicas are
one job), which is the `job` label the generated rules select, as a ServiceMonitor's
job label is in the cluster. Data goes under `<data dir>/prometheus`, kept one day.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

import yaml

from tools import slo_rules
from tools.procs import LOOPBACK, ServerProcess

DEFAULT_PORT = 9090
SCRAPE_INTERVAL = "5s"  # a short local loop: burn rates move within a minute
RETENTION = "1d"


def binary() -> str | None:
    return shutil.which("prometheus")


def config(jobs: Mapping[str, Sequence[str]], rules_dir: Path) -> dict[str, object]:
    """prometheus.yml: one job per service (`jobs`: name -> host:port targets)."""
    return {
        "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": SCRAPE_INTERVAL},
        "rule_files": [str(rules_dir / "*.rules.yml")],
        "scrape_configs": [
            {"job_name": name, "static_configs": [{"targets": list(targets)}]}
            for name, targets in jobs.items()
        ],
    }


def prometheus_process(
    jobs: Mapping[str, Sequence[str]],
    data_dir: Path,
    *,
    port: int = DEFAULT_PORT,
    output: IO[str] | None = None,
) -> ServerProcess:
    """A not-yet-started Prometheus (ready when `/-/ready` answers); writes its config
    and the SLO rule files under `data_dir`."""
    found = binary()
    if found is None:
        raise FileNotFoundError("prometheus is not installed")
    home = data_dir / "prometheus"
    rules = home / "rules"
    slo_rules.write(rules, tests=False)  # the tests are promtool's, not the server's
    config_file = home / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(config(jobs, rules), sort_keys=False))
    return ServerProcess(
        "prometheus",
        [
            found,
            f"--config.file={config_file}",
            f"--storage.tsdb.path={home / 'data'}",
            f"--storage.tsdb.retention.time={RETENTION}",
            f"--web.listen-address={LOOPBACK}:{port}",
            "--web.enable-lifecycle",
        ],
        ready_url=f"http://{LOOPBACK}:{port}/-/ready",
        output=output,
    )
