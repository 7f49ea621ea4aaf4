"""Typed stack configuration, read from `Pulumi.<stack>.yaml` and validated once.

Every knob the program reads lives here, with its default; the components take these
frozen dataclasses and never call `pulumi.Config` themselves. `load()` raises
`ConfigError` listing every problem at once, before any resource is declared.
"""

from __future__ import annotations

import datetime
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pulumi

Env = Literal["dev", "prod"]
ColdStart = Literal["snapstart", "provisioned", "none"]
DatabaseType = Literal["sqlite", "postgres"]


class ConfigError(ValueError):
    """The stack configuration is invalid; the message lists every problem."""


@dataclass(frozen=True, kw_only=True)
class NetworkConfig:
    cidr: str = "10.0.0.0/16"
    availability_zones: tuple[str, ...] = ("us-east-1a", "us-east-1b")
    nat_per_az: bool = False
    interface_endpoints: bool = False
    flow_log_retention_days: int = 14


@dataclass(frozen=True, kw_only=True)
class NodeGroupConfig:
    instance_types: tuple[str, ...] = ("t4g.large",)
    min_size: int = 2
    desired_size: int = 2
    max_size: int = 4
    disk_size_gb: int = 40


@dataclass(frozen=True, kw_only=True)
class AddonsConfig:
    # The internet-facing edge: ALB Ingresses (ingress-nginx is retired, see docs/infra.md).
    load_balancer_controller: bool = True
    metrics_server: bool = True
    kube_prometheus_stack: bool = True
    external_secrets: bool = True
    # Restarts dumbkv when External Secrets writes a rotated RDS password.
    reloader: bool = True
    efs_csi: bool = True


# End of EKS standard support per minor version (docs.aws.amazon.com/eks, "Kubernetes
# version lifecycle"): 14 months after release, then extended support at +$0.60/h.
EKS_STANDARD_SUPPORT_END = {
    "1.33": datetime.date(2026, 7, 29),
    "1.34": datetime.date(2026, 12, 2),
    "1.35": datetime.date(2027, 3, 27),
}


@dataclass(frozen=True, kw_only=True)
class ClusterConfig:
    # Every stack runs this version (the one place it is set); bump through a dev up.
    version: str = "1.35"
    admin_role_arns: tuple[str, ...] = ()
    # The CI roles (deploy.yml, preview.yml) of this stack's account: committed, so a
    # deploy never drops the access a local `pulumi config set` once granted.
    deploy_role_arn: str = ""
    preview_role_arn: str = ""
    # EKS makes the creating identity admin by itself (pulumi-eks keeps the bootstrap on),
    # and a second access entry for it fails with ResourceInUse. True when CI's deploy role
    # created the cluster (the documented flow); false for a cluster someone else created.
    created_by_deploy_role: bool = True
    # Who may reach the public API endpoint: the CI runner group's static egress ranges
    # and the operators' networks. Never the internet; nodes use the private endpoint.
    public_access_cidrs: tuple[str, ...] = ()
    node_group: NodeGroupConfig = field(default_factory=NodeGroupConfig)
    addons: AddonsConfig = field(default_factory=AddonsConfig)
    log_retention_days: int = 30


@dataclass(frozen=True, kw_only=True)
class DatabaseConfig:
    instance_class: str = "db.t4g.micro"
    allocated_storage_gb: int = 20
    max_allocated_storage_gb: int = 100
    engine_version: str = "16"
    multi_az: bool = False
    backup_retention_days: int = 7
    log_retention_days: int = 30


@dataclass(frozen=True, kw_only=True)
class DumbkvConfig:
    database_type: DatabaseType = "sqlite"
    replicas: int = 2
    max_replicas: int = 6
    host: str = "dumbkv.example.com"
    storage_gb: int = 5


@dataclass(frozen=True, kw_only=True)
class CatalogConfig:
    memory_mb: int = 512
    cold_start: ColdStart = "snapstart"
    provisioned_concurrency: int = 0
    reserved_concurrency: int = 50
    throttle_rate_per_s: float = 100.0
    throttle_burst: int = 200
    cache_ttl_s: int = 60
    log_retention_days: int = 14
    timeout_s: int = 10
    p99_alarm_ms: int = 1000


@dataclass(frozen=True, kw_only=True)
class StackConfig:
    """The whole stack's configuration (`platform:*` keys in Pulumi.<stack>.yaml)."""

    project: str
    stack: str
    env: Env
    region: str = "us-east-1"
    owner: str = "platform-team"
    # The images' tag (the git sha deploy.yml passes; previews reuse the last deployed one).
    # No default: a tag nobody pushed would roll every Deployment to ImagePullBackOff.
    image_tag: str | None = None
    # The one account this stack deploys into (`aws:allowedAccountIds`, which also makes
    # the AWS provider refuse any other credentials).
    account_id: str = ""
    gateway_host: str = "api.example.com"
    # The model servers the predictor batches for (comma-separated HTTPS URLs). Unset, the
    # stack runs the mock model server (`model_backend`) in-cluster instead: dev only,
    # prod must name real ones.
    model_backend_urls: str = ""
    # Subscribed to the stack's alerts topic (CloudWatch alarms and Alertmanager).
    alert_email: str = "ops@example.com"
    # The Route 53 hosted zone of the public hosts: ACM validates their certificates there.
    dns_zone_id: str = ""
    deletion_protection: bool = False
    namespace: str = "platform"
    network: NetworkConfig = field(default_factory=NetworkConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    dumbkv: DumbkvConfig = field(default_factory=DumbkvConfig)
    catalog: CatalogConfig = field(default_factory=CatalogConfig)
    # Helm chart repository per add-on chart (chart name -> repository URL). Deliberately
    # not in the committed stack files: it is where *your* organisation pulls charts from
    # (often an internal mirror). Set `platform:helmRepositories` or, in CI, the
    # PLATFORM_HELM_REPOSITORIES variable (JSON); see docs/infra.md.
    helm_repositories: Mapping[str, str] = field(default_factory=dict)

    @property
    def prefix(self) -> str:
        """`project-stack`: the start of every AWS resource name."""
        return f"{self.project}-{self.stack}"

    @property
    def is_prod(self) -> bool:
        return self.env == "prod"

    @property
    def mock_model_backend(self) -> bool:
        """The stand-in model server runs when no real model servers are configured."""
        return not self.model_backend_urls

    @property
    def remote_enabled(self) -> bool:
        """The flaky `remote` upstream is a dev-only test double."""
        return self.env == "dev"

    def tags(self, service: str) -> dict[str, str]:
        """The four tags every taggable resource carries (checked by policy)."""
        return resource_tags(self.project, self.stack, service, self.owner)


def resource_tags(project: str, stack: str, service: str, owner: str) -> dict[str, str]:
    """The four tags every taggable resource carries, in either program (policy checks)."""
    return {"project": project, "stack": stack, "service": service, "owner": owner}


# The registry stack (infra/registry): its own project, one stack, in the registry account.
REGISTRY_PROJECT = "platform-registry"
REGISTRY_STACK = "shared"
WORKLOAD_STACKS = ("dev", "prod")


@dataclass(frozen=True, kw_only=True)
class RegistryConfig:
    """The registry stack: one ECR repository per image, pulled by every workload stack's
    account (read from the committed `Pulumi.<stack>.yaml`, the one place they are set)."""

    project: str
    stack: str
    region: str = "us-east-1"
    owner: str = "platform-team"
    prefix: str = "platform"
    keep_last: int = 30
    pull_account_ids: tuple[str, ...] = ()

    def tags(self, service: str) -> dict[str, str]:
        return resource_tags(self.project, self.stack, service, self.owner)


def load_registry(root: Path | None = None) -> RegistryConfig:
    """The registry stack's config (`platform-registry:` keys) plus the workload accounts."""
    config = pulumi.Config()
    raw: dict[str, Any] = {k: v for k in ("owner", "prefix") if (v := config.get(k)) is not None}
    if (keep := config.get_int("keepLast")) is not None:
        raw["keep_last"] = keep
    accounts = tuple(stack_file_config(s, root).account_id for s in WORKLOAD_STACKS)
    return RegistryConfig(
        project=pulumi.get_project(),
        stack=pulumi.get_stack(),
        region=pulumi.Config("aws").get("region") or "us-east-1",
        pull_account_ids=accounts,
        **raw,
    )


def stack_file_config(stack: str, root: Path | None = None) -> StackConfig:
    """The validated config of the committed `Pulumi.<stack>.yaml` (no Pulumi engine)."""
    import yaml

    path = (root or Path(__file__).resolve().parent.parent) / f"Pulumi.{stack}.yaml"
    raw = yaml.safe_load(path.read_text())["config"]
    flat: dict[str, Any] = {}
    for key, value in raw.items():
        namespace, _, name = key.partition(":")
        if namespace == "platform":
            flat[name] = value
        elif key == "aws:region":
            flat.setdefault("region", value)
        elif key == "aws:allowedAccountIds":
            flat.update(account_raw(value))
    return from_mapping("platform", stack, flat)


def _problems(cfg: StackConfig) -> list[str]:
    problems: list[str] = []
    zones = cfg.network.availability_zones
    if len(zones) < 2 or len(set(zones)) != len(zones):
        problems.append("network.availabilityZones: at least 2 distinct zones")
    if cfg.is_prod and len(zones) < 3:
        problems.append("prod needs 3 availability zones")
    if cfg.is_prod and not (cfg.network.nat_per_az and cfg.database.multi_az):
        problems.append("prod needs network.natPerAz and database.multiAz")
    if cfg.account_id and not re.fullmatch(r"\d{12}", cfg.account_id):
        problems.append("aws:allowedAccountIds: exactly one 12-digit account per stack")
    if cfg.image_tag == "latest":
        problems.append("imageTag: never `latest` (IMMUTABLE repositories, never pushed)")
    if cfg.is_prod and cfg.mock_model_backend:
        problems.append("prod needs modelBackendUrls (the mock model server is dev only)")
    if cfg.is_prod and not cfg.deletion_protection:
        problems.append("prod needs deletionProtection: true")
    if cfg.cluster.version not in EKS_STANDARD_SUPPORT_END:
        problems.append(f"cluster.version {cfg.cluster.version}: not in EKS_STANDARD_SUPPORT_END")
    if any(c.endswith("/0") for c in cfg.cluster.public_access_cidrs):
        problems.append("cluster.publicAccessCidrs: list the ranges that need the API, not /0")
    ng = cfg.cluster.node_group
    if not 1 <= ng.min_size <= ng.desired_size <= ng.max_size:
        problems.append("cluster.nodeGroup: need 1 <= minSize <= desiredSize <= maxSize")
    cat = cfg.catalog
    if not 128 <= cat.memory_mb <= 10240:
        problems.append("catalog.memoryMb must be within 128..10240")
    if cat.cold_start == "provisioned" and cat.provisioned_concurrency < 1:
        problems.append("catalog.coldStart=provisioned needs provisionedConcurrency >= 1")
    if cat.cold_start != "provisioned" and cat.provisioned_concurrency:
        problems.append("catalog.provisionedConcurrency is only used with coldStart=provisioned")
    if cat.reserved_concurrency < max(1, cat.provisioned_concurrency):
        problems.append("catalog.reservedConcurrency must cover provisionedConcurrency")
    kv = cfg.dumbkv
    if kv.database_type == "postgres" and not 1 <= kv.replicas <= kv.max_replicas:
        problems.append("dumbkv: need 1 <= replicas <= maxReplicas")
    if kv.database_type == "postgres" and not cfg.cluster.addons.reloader:
        problems.append("dumbkv Postgres mode needs addons.reloader (RDS rotates its password)")
    if kv.database_type == "sqlite" and not cfg.cluster.addons.efs_csi:
        problems.append("dumbkv SQLite mode needs the efs storage class (addons.efsCsi)")
    if cfg.catalog.cold_start == "snapstart" and cfg.region.startswith(("cn-", "us-gov-")):
        problems.append("SnapStart is not offered in this partition")
    return problems


# Add-on switch -> the Helm chart it installs (efs_csi is an EKS managed add-on, no chart).
ADDON_CHARTS = {
    "load_balancer_controller": "aws-load-balancer-controller",
    "metrics_server": "metrics-server",
    "kube_prometheus_stack": "kube-prometheus-stack",
    "external_secrets": "external-secrets",
    "reloader": "reloader",
}


def enabled_charts(addons: AddonsConfig) -> list[str]:
    return [chart for switch, chart in ADDON_CHARTS.items() if getattr(addons, switch)]


def _camel_to_snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def _build(cls: Any, raw: Mapping[str, Any] | None, where: str, problems: list[str]) -> Any:
    """`cls(**raw)` with camelCase keys mapped to fields; unknown keys are problems."""
    raw = raw or {}
    names = set(cls.__dataclass_fields__)
    kwargs: dict[str, Any] = {}
    for key, value in raw.items():
        name = _camel_to_snake(key)
        if name not in names:
            problems.append(f"{where}.{key}: unknown key")
            continue
        kwargs[name] = tuple(value) if isinstance(value, list) else value
    return cls(**kwargs)


def from_mapping(project: str, stack: str, raw: Mapping[str, Any]) -> StackConfig:
    """Build and validate a StackConfig from plain data (keys as in the YAML, no prefix)."""
    problems: list[str] = []
    raw = dict(raw)
    nested = {
        "network": NetworkConfig,
        "database": DatabaseConfig,
        "dumbkv": DumbkvConfig,
        "catalog": CatalogConfig,
    }
    cluster_raw = dict(raw.pop("cluster", None) or {})
    node_group = _build(
        NodeGroupConfig, cluster_raw.pop("nodeGroup", None), "cluster.nodeGroup", problems
    )
    addons = _build(AddonsConfig, cluster_raw.pop("addons", None), "cluster.addons", problems)
    cluster = _build(ClusterConfig, cluster_raw, "cluster", problems)
    kwargs: dict[str, Any] = {
        "project": project,
        "stack": stack,
        "cluster": ClusterConfig(
            **{**cluster.__dict__, "node_group": node_group, "addons": addons}
        ),
    }
    for key, cls in nested.items():
        kwargs[key] = _build(cls, raw.pop(key, None), key, problems)
    top = set(StackConfig.__dataclass_fields__) - {"project", "stack", *nested, "cluster"}
    for key, value in raw.items():
        name = _camel_to_snake(key)
        if name not in top:
            problems.append(f"{key}: unknown key")
        else:
            kwargs[name] = value
    if kwargs.get("env") not in ("dev", "prod"):
        problems.append("env must be dev or prod")
        kwargs["env"] = "dev"
    try:
        cfg = StackConfig(**kwargs)
    except TypeError as error:  # a wrongly typed value
        raise ConfigError(f"{stack}: {error}") from error
    problems.extend(_problems(cfg))
    if problems:
        raise ConfigError(f"invalid config for stack {stack}: " + "; ".join(problems))
    return cfg


_STRINGS = (
    "env",
    "region",
    "owner",
    "imageTag",
    "gatewayHost",
    "modelBackendUrls",
    "alertEmail",
    "dnsZoneId",
    "namespace",
)
_OBJECTS = ("network", "cluster", "database", "dumbkv", "catalog", "helmRepositories")
HELM_REPOSITORIES_ENV = "PLATFORM_HELM_REPOSITORIES"


def load() -> StackConfig:
    """The current stack's config, from `pulumi.Config()` (the `platform:` namespace)."""
    config = pulumi.Config()
    raw: dict[str, Any] = {}
    for key in _STRINGS:
        if (text := config.get(key)) is not None:
            raw[key] = text
    if (protect := config.get_bool("deletionProtection")) is not None:
        raw["deletionProtection"] = protect
    for key in _OBJECTS:
        value = config.get_object(key)
        if value is not None:
            raw[key] = value
    if "helmRepositories" not in raw and (text := os.environ.get(HELM_REPOSITORIES_ENV)):
        try:
            raw["helmRepositories"] = json.loads(text)
        except ValueError as error:
            raise ConfigError(f"{HELM_REPOSITORIES_ENV} is not JSON: {error}") from error
    aws = pulumi.Config("aws")
    aws_region = aws.get("region")
    if aws_region and "region" not in raw:
        raw["region"] = aws_region
    raw.update(account_raw(aws.get_object("allowedAccountIds")))
    cfg = from_mapping(pulumi.get_project(), pulumi.get_stack(), raw)
    require_helm_repositories(cfg)
    require_image_tag(cfg)
    require_access(cfg)
    return cfg


def require_access(cfg: StackConfig) -> None:
    """A deployment knows its account, its CI roles in that account and who may reach the
    API endpoint (rendering manifests needs none of it)."""
    cc = cfg.cluster
    problems = []
    if not cfg.account_id:
        problems.append("aws:allowedAccountIds is not set")
    for key, arn in (
        ("deployRoleArn", cc.deploy_role_arn),
        ("previewRoleArn", cc.preview_role_arn),
    ):
        if not arn.startswith(f"arn:aws:iam::{cfg.account_id}:role/"):
            problems.append(f"cluster.{key} must be a role of account {cfg.account_id}")
    if not cfg.dns_zone_id:
        problems.append("dnsZoneId is not set (the public hosts' certificates need it)")
    if not cc.public_access_cidrs:
        problems.append("cluster.publicAccessCidrs is empty (the CI runners could not deploy)")
    if problems:
        raise ConfigError(f"{cfg.stack}: " + "; ".join(problems))


def account_raw(allowed: object) -> dict[str, Any]:
    """`aws:allowedAccountIds` as the `accountId` key (validated by `from_mapping`)."""
    if allowed is None:
        return {}
    ids = list(allowed) if isinstance(allowed, list | tuple) else [allowed]
    return {"accountId": ids[0] if len(ids) == 1 else ",".join(map(str, ids))}


# A git sha (what images.yml tags every image with) or a release version.
IMAGE_TAG = re.compile(r"[0-9a-f]{7,40}|\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?")


def require_image_tag(cfg: StackConfig) -> None:
    """A deployment names the images it runs: a commit sha or a release, never `latest`
    (the repositories are IMMUTABLE and `latest` is never pushed)."""
    tag = cfg.image_tag
    if not tag or not IMAGE_TAG.fullmatch(tag):
        raise ConfigError(
            f"{cfg.stack}: imageTag must be a git sha or a release version, got {tag!r} "
            "(deploy.yml sets it; previews reuse the stack's `imageTag` output)"
        )


def require_helm_repositories(cfg: StackConfig) -> None:
    """A deployment needs a repository for every enabled add-on chart (rendering
    manifests with `make manifests` does not, so `from_mapping` leaves this out)."""
    missing = [c for c in enabled_charts(cfg.cluster.addons) if c not in cfg.helm_repositories]
    if missing:
        raise ConfigError(
            f"{cfg.stack}: helmRepositories has no repository for {', '.join(missing)} "
            f"(set platform:helmRepositories or {HELM_REPOSITORIES_ENV}; see docs/infra.md)"
        )
