"""Stack config is validated once, with every problem reported together."""

from __future__ import annotations

from typing import Any

import pytest

from infra.config import ConfigError, from_mapping, require_helm_repositories
from infra.render_manifests import stack_config

PROD = {
    "env": "prod",
    "deletionProtection": True,
    "modelBackendUrls": "https://models.example.com",
    "network": {"availabilityZones": ["a1", "b1", "c1"], "natPerAz": True},
    "database": {"multiAz": True},
    "catalog": {"coldStart": "provisioned", "provisionedConcurrency": 2},
}


def test_the_committed_stack_files_are_valid() -> None:
    assert stack_config("dev").env == "dev"
    assert stack_config("prod").is_prod


def test_prod_refuses_two_zones_single_nat_and_no_deletion_protection() -> None:
    with pytest.raises(ConfigError) as error:
        from_mapping("platform", "prod", {"env": "prod"})
    message = str(error.value)
    assert "3 availability zones" in message
    assert "natPerAz" in message
    assert "deletionProtection" in message


def test_prod_refuses_the_mock_model_server() -> None:
    without = {key: value for key, value in PROD.items() if key != "modelBackendUrls"}

    with pytest.raises(ConfigError, match="prod needs modelBackendUrls"):
        from_mapping("platform", "prod", without)


def test_provisioned_concurrency_needs_a_count_and_is_exclusive_with_snapstart() -> None:
    with pytest.raises(ConfigError, match="provisionedConcurrency >= 1"):
        from_mapping("platform", "prod", {**PROD, "catalog": {"coldStart": "provisioned"}})
    with pytest.raises(ConfigError, match="only used with coldStart=provisioned"):
        from_mapping(
            "platform",
            "prod",
            {**PROD, "catalog": {"coldStart": "snapstart", "provisionedConcurrency": 2}},
        )


def test_unknown_keys_are_errors_not_silently_ignored() -> None:
    with pytest.raises(ConfigError, match=r"catalog\.memoryMB: unknown key"):
        from_mapping("platform", "dev", {"env": "dev", "catalog": {"memoryMB": 256}})


def test_sqlite_dumbkv_needs_the_efs_storage_class() -> None:
    with pytest.raises(ConfigError, match="efsCsi"):
        from_mapping(
            "platform",
            "dev",
            {
                "env": "dev",
                "cluster": {"addons": {"efsCsi": False}},
                "dumbkv": {"databaseType": "sqlite"},
            },
        )


def test_a_deployment_needs_a_repository_for_every_enabled_chart() -> None:
    cfg = from_mapping(
        "platform", "dev", {"env": "dev", "helmRepositories": {"metrics-server": "x"}}
    )

    with pytest.raises(ConfigError, match="aws-load-balancer-controller") as error:
        require_helm_repositories(cfg)
    assert "metrics-server" not in str(error.value)


def test_disabled_addons_need_no_repository() -> None:
    switches = ("loadBalancerController", "metricsServer", "kubePrometheusStack")
    addons = dict.fromkeys((*switches, "externalSecrets", "reloader"), False)
    cfg = from_mapping("platform", "dev", {"env": "dev", "cluster": {"addons": addons}})

    require_helm_repositories(cfg)


def test_dumbkv_on_postgres_needs_reloader_to_follow_password_rotation() -> None:
    with pytest.raises(ConfigError, match=r"needs addons\.reloader"):
        from_mapping(
            "platform",
            "dev",
            {
                "env": "dev",
                "cluster": {"addons": {"reloader": False}},
                "dumbkv": {"databaseType": "postgres"},
            },
        )


def _config_fields() -> set[tuple[str, str]]:
    """(dataclass, field) of every knob of the stack config, nested ones included."""
    import dataclasses

    from infra import config

    classes = [
        c
        for c in vars(config).values()
        if isinstance(c, type) and dataclasses.is_dataclass(c) and c.__module__ == config.__name__
    ]
    return {
        (c.__name__, f.name)
        for c in classes
        if c is not config.RegistryConfig
        for f in dataclasses.fields(c)
    }


def _cluster_created_by_someone_else() -> dict[str, Any]:
    import yaml

    from tests.fixtures.stacks import ROOT

    raw = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]
    return {"cluster": {**raw["platform:cluster"], "createdByDeployRole": False}}


# The committed stacks, plus a switch whose other side reads one more field.
VARIANTS: list[tuple[str, dict[str, Any]]] = [
    ("dev", {}),
    ("prod", {}),
    ("dev", _cluster_created_by_someone_else()),
]


def test_every_config_field_is_read_by_the_program() -> None:
    from infra import config
    from infra.program import build
    from tests.fixtures.stacks import stack_config as engine_config
    from tests.infra.mocking import run_program

    fields = _config_fields()
    read: set[tuple[str, str]] = set()
    recording = False
    classes = {name for name, _ in fields}
    originals = {}

    def spy(original: Any) -> Any:
        def getattribute(self: Any, name: str) -> Any:
            if recording:
                read.add((type(self).__name__, name))
            return original(self, name)

        return getattribute

    def program() -> Any:
        nonlocal recording
        cfg = config.load()
        recording = True  # what build() reads, not what validation reads
        return build(cfg)

    for name in classes:
        cls = getattr(config, name)
        originals[cls] = cls.__getattribute__
        cls.__getattribute__ = spy(cls.__getattribute__)
    try:
        for stack, overrides in VARIANTS:
            recording = False
            run_program(stack, engine_config(stack, **overrides), program)
    finally:
        for cls, original in originals.items():
            cls.__getattribute__ = original

    assert sorted(fields - read) == []
