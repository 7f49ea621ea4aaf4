"""Typed service specs: what each workload on EKS needs, as plain data.

The env var names are the ones each service's `settings.py` reads (GATEWAY_*, DUMBKV_* and
the original's DATABASE_TYPE / DATABASE_LOCATION, USERS_*, REMOTE_*, PREDICTOR_*,
BACKEND_*). Ports, the env var prefix and the names derived from it come from each
service's `<service>.contract` (the same values its settings and `tools/launcher.py` use),
its SLOs from its `<service>.slos` (the one definition its app serves too). Those modules
import only the standard library and `observability.slo`, so infra never loads a
service's web stack.

Values may be plain strings (rendered YAML) or Pulumi outputs (the program): both are
accepted wherever the type says `Value`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import dumbkv.contract
import dumbkv.slos
import gateway.contract
import gateway.slos
import model_backend.contract
import predictor.contract
import predictor.slos
import remote.contract
import remote.slos
import users.contract
import users.slos
from infra.config import StackConfig
from observability.slo import SLO

Value = Any  # str, or a pulumi Output[str] when built by the program


@dataclass(frozen=True, kw_only=True)
class Resources:
    cpu_request: str = "100m"
    memory_request: str = "128Mi"
    cpu_limit: str = "500m"
    memory_limit: str = "256Mi"


@dataclass(frozen=True, kw_only=True)
class Volume:
    """A PersistentVolumeClaim mounted at `mount_path` (the directory the data lives in)."""

    claim: str
    mount_path: str
    storage_class: str
    size: str
    access_mode: str = "ReadWriteMany"


@dataclass(frozen=True, kw_only=True)
class SecretFiles:
    """A Secret's keys mounted read-only as files under `mount_path`. `optional`: the pod
    starts without the Secret (the service then sees no files)."""

    secret_name: str
    mount_path: str
    optional: bool = True


@dataclass(frozen=True, kw_only=True)
class ExternalSecret:
    """A Kubernetes Secret kept in sync with an AWS Secrets Manager secret by the
    External Secrets Operator, authenticated as the service's own ServiceAccount (IRSA)."""

    name: str
    remote_key: Value  # secret ARN
    template: Mapping[str, Value]  # Secret key -> Go template over the remote JSON fields
    # RDS rotates its managed password (7 days): pick the new one up within minutes, and
    # Reloader restarts the pods that read it (env vars are read once, at start).
    refresh: str = "5m"


@dataclass(frozen=True, kw_only=True)
class DatabaseRole:
    """The service's own Postgres login, created (and re-passworded, and given the tables
    the master made) by a Job that logs in as the RDS master from `master_secret_arn`."""

    user: str
    app_secret_arn: Value
    master_secret_arn: Value
    host: Value


@dataclass(frozen=True, kw_only=True)
class CronJob:
    """A periodic batch run of the service's own image, as the service's ServiceAccount
    (its IRSA role) and with its env: the object is named `<service>-<name>`."""

    name: str
    schedule: str  # cron syntax, UTC
    command: tuple[str, ...]
    egress_https: bool = True  # AWS APIs (through NAT / endpoints)
    deadline_s: int = 600  # a run still going after this is killed (the next one goes on)


@dataclass(frozen=True, kw_only=True)
class ServiceSpec:
    """One Deployment and everything around it (Service, HPA, PDB, policies, monitoring)."""

    name: str
    port: int
    image: str  # ECR repository under the prefix (the mock model server runs the predictor image)
    command: tuple[str, ...] = ()
    env: Mapping[str, Value] = field(default_factory=dict)
    secret_env: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # var -> (secret, key)
    secret_files: SecretFiles | None = None
    replicas: int = 2
    max_replicas: int = 6
    autoscale: bool = True
    strategy: Literal["RollingUpdate", "Recreate"] = "RollingUpdate"
    resources: Resources = field(default_factory=Resources)
    slos: tuple[SLO, ...] = ()
    public_host: str | None = None
    callers: tuple[str, ...] = ("gateway",)  # workloads allowed to call this one
    calls: tuple[str, ...] = ()  # in-namespace workloads this one calls
    egress_https: bool = False  # AWS APIs and public HTTPS (through NAT / endpoints)
    egress_postgres: bool = False
    volume: Volume | None = None
    external_secret: ExternalSecret | None = None
    role_arn: Value | None = None  # IRSA role; None = no AWS permissions
    cron_jobs: tuple[CronJob, ...] = ()
    database_role: DatabaseRole | None = None
    termination_grace_s: int = 30
    pre_stop_sleep_s: int = 5


@dataclass(frozen=True, kw_only=True)
class Endpoints:
    """Cloud values the services are wired to (outputs in the program, placeholders in YAML)."""

    users_table: Value
    avatars_bucket: Value
    data_key_arn: Value
    catalog_url: Value
    db_secret_arn: Value
    db_app_secret_arn: Value
    db_host: Value
    role_arns: Mapping[str, Value]


SQLITE_DIR = "/data/dumbkvstore"
# The gateway's API key store (`python -m gateway.keys`), shipped as the Secret
# `gateway-api-keys` (key `keys.db`); see docs/security.md "Issuing keys in the cluster".
GATEWAY_KEYS_DIR = "/etc/gateway/keys"
GATEWAY_KEYS = SecretFiles(secret_name="gateway-api-keys", mount_path=GATEWAY_KEYS_DIR)  # noqa: S106 - a Secret's name
# The gateway signs caller identities with it; dumbkv, users and the predictor verify
# (libs/identity).
IDENTITY_SECRET_ENV = {"PLATFORM_IDENTITY_SECRET": ("platform-identity", "secret")}
DB_NAME = "dumbkv"
# libpq's variable, read by asyncpg on both of dumbkv's paths (pool and migrations);
# rds.force_ssl refuses anything else anyway.
POSTGRES_TLS_ENV = {"PGSSLMODE": "require"}
APP_DB_USER = "dumbkv_app"  # dumbkv's login; the RDS master is `dumbkv`
MODEL_BACKEND = "predictor-backend"  # the mock model server's workload (dev only)


ANY_INTERFACE = "0.0.0.0"  # noqa: S104 - a pod listens on its own interface


def _url(name: str, port: int, namespace: str) -> str:
    return f"http://{name}.{namespace}.svc.cluster.local:{port}"


def _listen(contract: Any) -> dict[str, Value]:
    """The service's HOST/PORT variables (names and port from its `contract` module)."""
    return {contract.HOST_ENV: ANY_INTERFACE, contract.PORT_ENV: str(contract.PORT)}


def service_specs(cfg: StackConfig, endpoints: Endpoints) -> list[ServiceSpec]:
    """The workloads of this stack (remote and the mock model server only in dev), wired to
    `endpoints`."""
    ns = cfg.namespace
    prod = cfg.is_prod
    scale = 2 if prod else 1  # prod keeps 2+ replicas of everything stateless
    gateway_calls = ["dumbkv", "predictor", "users"] + (["remote"] if cfg.remote_enabled else [])
    upstream_env = gateway.contract.upstream_url_env
    remote_url = _url("remote", remote.contract.PORT, ns)
    gateway_env: dict[str, Value] = {
        **_listen(gateway.contract),
        upstream_env("dumbkv"): _url("dumbkv", dumbkv.contract.PORT, ns),
        upstream_env("predictor"): _url("predictor", predictor.contract.PORT, ns),
        upstream_env("users"): _url("users", users.contract.PORT, ns),
        upstream_env("catalog"): endpoints.catalog_url,
        gateway.contract.REMOTE_URLS_ENV: remote_url if cfg.remote_enabled else "",
        "GATEWAY_KEYS_DB": f"{GATEWAY_KEYS_DIR}/keys.db",
        # Only the ALB (from its public subnets) may call the gateway (its NetworkPolicy):
        # trust X-Forwarded-For from the VPC, so each client gets its own rate-limit
        # bucket instead of all sharing the load balancer's.
        "GATEWAY_TRUSTED_PROXIES": cfg.network.cidr,
        # Without the dev-only remote, readiness must not wait for it.
        "GATEWAY_READY_REQUIRES_REMOTE": "true" if cfg.remote_enabled else "false",
    }
    specs = [
        ServiceSpec(
            name="gateway",
            port=gateway.contract.PORT,
            image="gateway",
            env=gateway_env,
            replicas=2 * scale,
            max_replicas=20 if prod else 4,
            resources=Resources(
                cpu_request="250m", memory_request="256Mi", cpu_limit="1", memory_limit="512Mi"
            ),
            slos=gateway.slos.SLOS,
            secret_env=IDENTITY_SECRET_ENV,
            secret_files=GATEWAY_KEYS,
            public_host=cfg.gateway_host,
            callers=("ingress",),
            calls=tuple(gateway_calls),
            egress_https=True,  # the catalog HTTP API
            # The gateway's total deadline is 15 s for predictions; let in-flight calls finish.
            termination_grace_s=25,
        ),
        _dumbkv(cfg, endpoints),
        _predictor(cfg),
        ServiceSpec(
            name="users",
            port=users.contract.PORT,
            image="users",
            env={
                **_listen(users.contract),
                "USERS_ENV": cfg.env,
                "USERS_TABLE": endpoints.users_table,
                "USERS_AVATAR_BUCKET": endpoints.avatars_bucket,
                "USERS_AVATAR_KMS_KEY_ID": endpoints.data_key_arn,
                "AWS_REGION": cfg.region,
            },
            replicas=scale,
            max_replicas=10 if prod else 3,
            slos=users.slos.SLOS,
            secret_env=IDENTITY_SECRET_ENV,
            egress_https=True,
            role_arn=endpoints.role_arns["users"],
            # Orphan avatars (docs/runbooks/users-orphan-avatars.md): hourly, bounded runs.
            cron_jobs=(
                CronJob(
                    name="sweep", schedule="17 * * * *", command=("python", "-m", "users.sweep")
                ),
            ),
        ),
    ]
    if cfg.mock_model_backend:
        specs.append(_model_backend(cfg))
    if cfg.remote_enabled:
        specs.append(
            ServiceSpec(
                name="remote",
                port=remote.contract.PORT,
                image="remote",
                env=_listen(remote.contract),
                replicas=1,
                max_replicas=2,
                slos=remote.slos.SLOS,
                # It refuses unsigned calls, as every service does; the gateway signs.
                secret_env=IDENTITY_SECRET_ENV,
                # The original stalls 5% of requests for 300 s: do not wait for them on shutdown.
                termination_grace_s=10,
            )
        )
    return specs


def _predictor(cfg: StackConfig) -> ServiceSpec:
    """The predictor, in front of the configured model servers or, without any, the
    in-cluster mock (`model_backend`, dev only: config refuses it in prod)."""
    ns = cfg.namespace
    mock = cfg.mock_model_backend
    backend_urls = (
        _url(MODEL_BACKEND, model_backend.contract.PORT, ns) if mock else cfg.model_backend_urls
    )
    return ServiceSpec(
        name="predictor",
        port=predictor.contract.PORT,
        image="predictor",
        env={
            **_listen(predictor.contract),
            predictor.contract.BACKEND_URLS_ENV: backend_urls,
        },
        replicas=2 if cfg.is_prod else 1,
        max_replicas=10 if cfg.is_prod else 3,
        slos=predictor.slos.SLOS,
        secret_env=IDENTITY_SECRET_ENV,
        calls=(MODEL_BACKEND,) if mock else (),
        egress_https=not mock,  # real model servers are reached over HTTPS
        termination_grace_s=20,
    )


def _model_backend(cfg: StackConfig) -> ServiceSpec:
    """The mock model server; it ships in the predictor image."""
    return ServiceSpec(
        name=MODEL_BACKEND,
        port=model_backend.contract.PORT,
        image="predictor",
        command=("python", "-m", "model_backend"),
        env=_listen(model_backend.contract),
        replicas=1,
        max_replicas=3,
        resources=Resources(
            cpu_request="500m", memory_request="512Mi", cpu_limit="2", memory_limit="1Gi"
        ),
        callers=("predictor",),
        termination_grace_s=20,
    )


def _dumbkv(cfg: StackConfig, endpoints: Endpoints) -> ServiceSpec:
    kv = cfg.dumbkv
    common: dict[str, Any] = {
        "name": "dumbkv",
        "port": dumbkv.contract.PORT,
        "image": "dumbkv",
        "slos": dumbkv.slos.SLOS,
        "public_host": kv.host,
        "callers": ("gateway", "ingress"),
        "role_arn": endpoints.role_arns["dumbkv"],
    }
    env: dict[str, Value] = {
        **_listen(dumbkv.contract),
        "DUMBKV_ENV": cfg.env,
        "DATABASE_TYPE": kv.database_type,
    }
    pepper = {"DUMBKV_PEPPER": ("dumbkv-pepper", "pepper"), **IDENTITY_SECRET_ENV}
    if kv.database_type == "sqlite":
        # One writer on one file: never two pods at once, so Recreate and exactly 1 replica.
        return ServiceSpec(
            **common,
            env={**env, "DATABASE_LOCATION": f"{SQLITE_DIR}/dumbkv.db"},
            secret_env=pepper,
            replicas=1,
            max_replicas=1,
            autoscale=False,
            strategy="Recreate",
            volume=Volume(
                claim="dumbkv-data",
                mount_path=SQLITE_DIR,
                storage_class="efs",
                size=f"{kv.storage_gb}Gi",
            ),
        )
    return ServiceSpec(
        **common,
        env={**env, **POSTGRES_TLS_ENV},
        secret_env={**pepper, "DATABASE_LOCATION": ("dumbkv-database", "DATABASE_LOCATION")},
        replicas=kv.replicas,
        max_replicas=kv.max_replicas,
        egress_postgres=True,
        external_secret=ExternalSecret(
            name="dumbkv-database",
            remote_key=endpoints.db_app_secret_arn,
            template={"DATABASE_LOCATION": database_location(endpoints.db_host)},
        ),
        database_role=DatabaseRole(
            user=APP_DB_USER,
            app_secret_arn=endpoints.db_app_secret_arn,
            master_secret_arn=endpoints.db_secret_arn,
            host=endpoints.db_host,
        ),
    )


def database_location(host: Value, keys: tuple[str, str] = ("username", "password")) -> Value:
    """The dumbkv URL as an External Secrets template over a secret's login and password
    fields (`keys`). No query: asyncpg sends unknown URL parameters to the server as
    settings, and SQLAlchemy's dialect passes them as keywords; TLS comes from PGSSLMODE."""
    head = f"postgresql://{{{{ .{keys[0]} }}}}:{{{{ .{keys[1]} | urlquery }}}}@"
    tail = f":5432/{DB_NAME}"
    if isinstance(host, str):
        return head + host + tail
    import pulumi  # only the program passes outputs

    return pulumi.Output.concat(head, host, tail)


def service_images(cfg: StackConfig) -> list[str]:
    """The images this stack runs (an ECR repository `<prefix>/<image>` each)."""
    return sorted({spec.image for spec in service_specs(cfg, placeholder_endpoints(cfg))})


def placeholder_endpoints(cfg: StackConfig) -> Endpoints:
    """Placeholders for `make manifests` (filled by `envsubst` from `pulumi stack output`)."""
    return Endpoints(
        users_table=f"{cfg.prefix}-users",
        avatars_bucket="${AVATARS_BUCKET}",
        data_key_arn="${DATA_KEY_ARN}",
        catalog_url="${CATALOG_API_URL}",
        db_secret_arn="${DB_SECRET_ARN}",  # noqa: S106 - a placeholder, not a secret
        db_app_secret_arn="${DB_APP_SECRET_ARN}",  # noqa: S106 - a placeholder
        db_host="${DB_HOST}",
        role_arns={
            "users": f"arn:aws:iam::${{AWS_ACCOUNT_ID}}:role/{cfg.prefix}-users-irsa",
            "dumbkv": f"arn:aws:iam::${{AWS_ACCOUNT_ID}}:role/{cfg.prefix}-dumbkv-irsa",
        },
    )
