"""The registry stack's program: the repositories and what the workload stacks read of it
through their StackReference (`registryId`, `registryHost`, `repositories`)."""

from __future__ import annotations

from typing import Any

from infra.components.registry import Registry
from infra.config import RegistryConfig


def build_registry(cfg: RegistryConfig) -> dict[str, Any]:
    registry = Registry(cfg)
    return {
        "registryId": registry.registry_id,
        "registryHost": registry.host,
        "repositories": registry.names,
        # images.yml pushes to <registryHost>/<repositoryPrefix>/<image> (this output).
        "repositoryPrefix": cfg.prefix,
        "pullAccountIds": list(cfg.pull_account_ids),
    }
