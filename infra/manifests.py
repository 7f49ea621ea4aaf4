"""Kubernetes objects as plain data, built from typed service specs.

One module builds every object the platform runs on EKS, as dicts exactly as `kubectl`
would read them, so the same objects feed the Pulumi program (`components/workloads.py`)
and `python -m infra.render_manifests` (YAML under deploy/manifests/<stack>/).

Security baseline of every workload (the namespace enforces Pod Security "restricted"):
non-root (uid 10001, as in the Dockerfiles), read-only root filesystem with an emptyDir
/tmp, all capabilities dropped, no privilege escalation, seccomp RuntimeDefault, no
ServiceAccount token unless IRSA needs one. Availability: probes on /livez and /readyz
(the observability lib's), a startup probe, requests and limits, zone topology spread,
a preStop pause so endpoints drain before SIGTERM, a PDB when there are 2+ replicas.
Network: default deny in and out; gateway -> services, the ALB's subnets -> public
services, Prometheus -> every service's port (/metrics), DNS out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from infra.services import (
    POSTGRES_TLS_ENV,
    CronJob,
    DatabaseRole,
    ServiceSpec,
    Value,
    database_location,
)
from observability.dashboards import render_dashboard
from observability.slo import render_prometheus_rule

Obj = dict[str, Any]

UID = 10001  # the `app` user of every service image
INGRESS_CLASS = "alb"  # the AWS Load Balancer Controller's
# Where create_app serves Prometheus metrics; service_monitor scrapes it on the pods.
METRICS_PATH = "/metrics"
PROMETHEUS_RELEASE = "kube-prometheus-stack"


@dataclass(frozen=True, kw_only=True)
class ClusterTarget:
    """Where the objects go and what they point at (cluster-wide, not per service)."""

    namespace: str
    env: str
    region: str
    # Image name (ServiceSpec.image) -> full reference: `<registry>/<repo>@sha256:...` from
    # the program (pinned to what the tag resolved to), `${PLACEHOLDERS}` when rendered.
    images: Mapping[str, Value]
    vpc_cidr: str
    # Where the ALB's nodes are (its public subnets): with `target-type: ip` they are the
    # source of every request a public service receives.
    edge_cidrs: tuple[str, ...]
    efs_file_system_id: Value | None = None
    monitoring_namespace: str = "monitoring"


def labels(name: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "platform"}


def _meta(name: str, namespace: str | None, extra: dict[str, str] | None = None) -> Obj:
    meta: Obj = {"name": name, "labels": {**labels(name), **(extra or {})}}
    if namespace is not None:
        meta["namespace"] = namespace
    return meta


# --- namespace-wide -------------------------------------------------------------------


def namespace(p: ClusterTarget) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": p.namespace,
            "labels": {
                "kubernetes.io/metadata.name": p.namespace,
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/audit": "restricted",
                "pod-security.kubernetes.io/warn": "restricted",
                # Rollouts wait until the ALB sees the new pod healthy.
                "elbv2.k8s.aws/pod-readiness-gate-inject": "enabled",
            },
        },
    }


def default_deny(p: ClusterTarget) -> Obj:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "default-deny", "namespace": p.namespace},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
    }


def allow_dns(p: ClusterTarget) -> Obj:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "allow-dns", "namespace": p.namespace},
        "spec": {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [
                        {
                            "namespaceSelector": {
                                "matchLabels": {"kubernetes.io/metadata.name": "kube-system"}
                            },
                            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                        }
                    ],
                    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                }
            ],
        },
    }


def efs_storage_class(file_system_id: Value) -> Obj:
    """StorageClass `efs`: one EFS access point per claim, owned by the app user."""
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": "efs"},
        "provisioner": "efs.csi.aws.com",
        "parameters": {
            "provisioningMode": "efs-ap",
            "fileSystemId": file_system_id,
            "directoryPerms": "700",
            "uid": str(UID),
            "gid": str(UID),
        },
        "reclaimPolicy": "Retain",
        "volumeBindingMode": "Immediate",
    }


# --- per service ----------------------------------------------------------------------


def service_account(spec: ServiceSpec, p: ClusterTarget) -> Obj:
    meta = _meta(spec.name, p.namespace)
    if spec.role_arn is not None:
        meta["annotations"] = {"eks.amazonaws.com/role-arn": spec.role_arn}
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": meta,
        # IRSA's webhook mounts its own projected token; nothing needs the API token.
        "automountServiceAccountToken": False,
    }


def _container(spec: ServiceSpec, p: ClusterTarget) -> Obj:
    env: list[Obj] = [{"name": k, "value": v} for k, v in spec.env.items()]
    env += [
        {"name": var, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}
        for var, (secret, key) in spec.secret_env.items()
    ]
    mounts: list[Obj] = [{"name": "tmp", "mountPath": "/tmp"}]  # noqa: S108 - an emptyDir
    if spec.volume is not None:
        mounts.append({"name": "data", "mountPath": spec.volume.mount_path})
    if spec.secret_files is not None:
        mounts.append(
            {"name": "secret-files", "mountPath": spec.secret_files.mount_path, "readOnly": True}
        )
    image = p.images[spec.image]
    container: Obj = {
        "name": spec.name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": spec.port, "protocol": "TCP"}],
        "env": env,
        "resources": {
            "requests": {
                "cpu": spec.resources.cpu_request,
                "memory": spec.resources.memory_request,
            },
            "limits": {"cpu": spec.resources.cpu_limit, "memory": spec.resources.memory_limit},
        },
        "startupProbe": _probe("/livez", period=2, failures=30),
        "livenessProbe": _probe("/livez", period=10, failures=3),
        "readinessProbe": _probe("/readyz", period=5, failures=2),
        "lifecycle": {"preStop": {"sleep": {"seconds": spec.pre_stop_sleep_s}}},
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": UID,
            "runAsGroup": UID,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": mounts,
    }
    if spec.command:
        container["command"] = list(spec.command)
    return container


def _probe(path: str, *, period: int, failures: int) -> Obj:
    return {
        "httpGet": {"path": path, "port": "http"},
        "periodSeconds": period,
        "timeoutSeconds": 2,
        "failureThreshold": failures,
    }


def deployment(spec: ServiceSpec, p: ClusterTarget) -> Obj:
    selector = {"app.kubernetes.io/name": spec.name}
    volumes: list[Obj] = [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}]
    if spec.volume is not None:
        volumes.append({"name": "data", "persistentVolumeClaim": {"claimName": spec.volume.claim}})
    if spec.secret_files is not None:
        source = {
            "secretName": spec.secret_files.secret_name,
            "optional": spec.secret_files.optional,
            "defaultMode": 0o440,
        }
        volumes.append({"name": "secret-files", "secret": source})
    strategy: Obj = (
        {"type": "Recreate"}
        if spec.strategy == "Recreate"
        else {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
    )
    body: Obj = {
        "selector": {"matchLabels": selector},
        "strategy": strategy,
        "revisionHistoryLimit": 5,
        "template": {
            "metadata": {"labels": labels(spec.name)},
            "spec": {
                "serviceAccountName": spec.name,
                "automountServiceAccountToken": False,
                "terminationGracePeriodSeconds": spec.termination_grace_s,
                "securityContext": {
                    "runAsNonRoot": True,
                    "runAsUser": UID,
                    "runAsGroup": UID,
                    "fsGroup": UID,
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                "topologySpreadConstraints": [
                    {
                        "maxSkew": 1,
                        "topologyKey": key,
                        "whenUnsatisfiable": "ScheduleAnyway",
                        "labelSelector": {"matchLabels": selector},
                    }
                    for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
                ],
                "containers": [_container(spec, p)],
                "volumes": volumes,
            },
        },
    }
    if not spec.autoscale:
        # With an HPA the replica count is the HPA's; a fixed count would fight it.
        body["replicas"] = spec.replicas
    meta = _meta(spec.name, p.namespace)
    if spec.external_secret is not None:
        # Reloader rolls the Deployment when External Secrets rewrites the Secret.
        meta["annotations"] = {"secret.reloader.stakater.com/reload": spec.external_secret.name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": body}


def service(spec: ServiceSpec, p: ClusterTarget) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(spec.name, p.namespace),
        "spec": {
            "type": "ClusterIP",
            "selector": {"app.kubernetes.io/name": spec.name},
            "ports": [{"name": "http", "port": spec.port, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def hpa(spec: ServiceSpec, p: ClusterTarget) -> Obj:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": _meta(spec.name, p.namespace),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": spec.name},
            "minReplicas": spec.replicas,
            "maxReplicas": spec.max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 70},
                    },
                }
            ],
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}},
        },
    }


def pdb(spec: ServiceSpec, p: ClusterTarget) -> Obj:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _meta(spec.name, p.namespace),
        "spec": {
            "maxUnavailable": 1,
            "selector": {"matchLabels": {"app.kubernetes.io/name": spec.name}},
        },
    }


def network_policy(spec: ServiceSpec, p: ClusterTarget, ports: dict[str, int]) -> Obj:
    """Who may reach this workload, and what it may reach (on top of default deny)."""
    port = [{"protocol": "TCP", "port": spec.port}]
    peers: list[Obj] = []
    for caller in spec.callers:
        if caller == "ingress":
            peers += [{"ipBlock": {"cidr": cidr}} for cidr in p.edge_cidrs]
        else:
            peers.append({"podSelector": {"matchLabels": {"app.kubernetes.io/name": caller}}})
    ingress: list[Obj] = [{"from": peers, "ports": port}] if peers else []
    # Prometheus scrapes /metrics on the service port.
    ingress.append({"from": [_namespace_peer(p.monitoring_namespace)], "ports": port})
    egress: list[Obj] = [
        {
            "to": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": callee}}}],
            "ports": [{"protocol": "TCP", "port": ports[callee]}],
        }
        for callee in spec.calls
        if callee in ports
    ]
    if spec.egress_https:
        egress.append(
            {
                "to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}],
                "ports": [{"protocol": "TCP", "port": 443}],
            }
        )
    if spec.egress_postgres:
        egress.append(
            {
                "to": [{"ipBlock": {"cidr": p.vpc_cidr}}],
                "ports": [{"protocol": "TCP", "port": 5432}],
            }
        )
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta(spec.name, p.namespace),
        "spec": {
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": spec.name}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": ingress,
            "egress": egress,
        },
    }


def _namespace_peer(name: str) -> Obj:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}


def service_monitor(spec: ServiceSpec, p: ClusterTarget) -> Obj:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": _meta(spec.name, p.namespace, {"release": PROMETHEUS_RELEASE}),
        "spec": {
            # job="<service>" (the Service's name) is what the SLO rules select on.
            "selector": {"matchLabels": {"app.kubernetes.io/name": spec.name}},
            "namespaceSelector": {"matchNames": [p.namespace]},
            "endpoints": [{"port": "http", "path": METRICS_PATH, "interval": "30s"}],
        },
    }


def prometheus_rule(spec: ServiceSpec, p: ClusterTarget) -> Obj:
    return render_prometheus_rule(spec.name, spec.slos, namespace=p.namespace)


def dashboard(spec: ServiceSpec, p: ClusterTarget) -> Obj:
    """The service's Grafana dashboard, picked up by the Grafana sidecar via its label."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(f"{spec.name}-dashboard", p.namespace, {"grafana_dashboard": "1"}),
        "data": {f"{spec.name}.json": json.dumps(render_dashboard(spec.name, spec.slos), indent=1)},
    }


def volume_claim(spec: ServiceSpec, p: ClusterTarget) -> Obj:
    assert spec.volume is not None
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": _meta(spec.volume.claim, p.namespace),
        "spec": {
            "accessModes": [spec.volume.access_mode],
            "storageClassName": spec.volume.storage_class,
            "resources": {"requests": {"storage": spec.volume.size}},
        },
    }


def secret_store(spec: ServiceSpec, p: ClusterTarget) -> Obj:
    """Secrets Manager, read as the service's own ServiceAccount (its IRSA role)."""
    return {
        "apiVersion": "external-secrets.io/v1",
        "kind": "SecretStore",
        "metadata": _meta(f"{spec.name}-aws", p.namespace),
        "spec": {
            "provider": {
                "aws": {
                    "service": "SecretsManager",
                    "region": p.region,
                    "auth": {"jwt": {"serviceAccountRef": {"name": spec.name}}},
                }
            }
        },
    }


def external_secret(spec: ServiceSpec, p: ClusterTarget) -> Obj:
    es = spec.external_secret
    assert es is not None
    return {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": _meta(es.name, p.namespace),
        "spec": {
            "refreshInterval": es.refresh,
            "secretStoreRef": {"name": f"{spec.name}-aws", "kind": "SecretStore"},
            "target": {
                "name": es.name,
                "creationPolicy": "Owner",
                "template": {"engineVersion": "v2", "data": dict(es.template)},
            },
            "dataFrom": [{"extract": {"key": es.remote_key}}],
        },
    }


# An ALB rule action (annotation `actions.<name>`) answering /metrics itself.
METRICS_REFUSED = "metrics-refused"
REFUSE_METRICS = {
    "type": "fixed-response",
    "fixedResponseConfig": {"contentType": "text/plain", "statusCode": "404", "messageBody": ""},
}
ALB = "alb.ingress.kubernetes.io"


def ingress(spec: ServiceSpec, p: ClusterTarget) -> Obj:
    """The public host on the platform's one ALB (shared through `group.name`): HTTPS with
    the host's ACM certificate (found by the controller from `tls.hosts`), HTTP redirected,
    pods as targets, /metrics answered 404 by the ALB (rules apply in the listed order)."""
    assert spec.public_host is not None
    backend = {"service": {"name": spec.name, "port": {"number": spec.port}}}
    refused = {"service": {"name": METRICS_REFUSED, "port": {"name": "use-annotation"}}}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            **_meta(spec.name, p.namespace),
            "annotations": {
                f"{ALB}/scheme": "internet-facing",
                f"{ALB}/target-type": "ip",
                f"{ALB}/group.name": p.namespace,
                f"{ALB}/listen-ports": json.dumps([{"HTTP": 80}, {"HTTPS": 443}]),
                f"{ALB}/ssl-redirect": "443",
                f"{ALB}/ssl-policy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
                f"{ALB}/healthcheck-path": "/readyz",
                f"{ALB}/actions.{METRICS_REFUSED}": json.dumps(REFUSE_METRICS),
            },
        },
        "spec": {
            "ingressClassName": INGRESS_CLASS,
            "tls": [{"hosts": [spec.public_host]}],
            "rules": [
                {
                    "host": spec.public_host,
                    "http": {
                        "paths": [
                            {"path": METRICS_PATH, "pathType": "Prefix", "backend": refused},
                            {"path": "/", "pathType": "Prefix", "backend": backend},
                        ]
                    },
                }
            ],
        },
    }


# Run as the RDS master by the role Job: dumbkv's login exists with the stack's password,
# may use the database, and owns the tables (also those the master created before).
# Idempotent; identifiers and the password go through quote_ident/quote_literal.
ROLE_SCRIPT = """
import asyncio, os, asyncpg

async def main():
    db = await asyncpg.connect(os.environ["MASTER_LOCATION"])
    name = os.environ["APP_USER"]
    user = await db.fetchval("SELECT quote_ident($1)", name)
    quoted = await db.fetchval("SELECT quote_literal($1)", os.environ["APP_PASSWORD"])
    if not await db.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", name):
        await db.execute(f"CREATE ROLE {user} LOGIN")
    await db.execute(f"ALTER ROLE {user} WITH LOGIN PASSWORD {quoted}")
    await db.execute(f"GRANT {user} TO current_user")
    database = await db.fetchval("SELECT quote_ident(current_database())")
    await db.execute(f"GRANT CONNECT ON DATABASE {database} TO {user}")
    await db.execute(f"GRANT USAGE, CREATE ON SCHEMA public TO {user}")
    for (table,) in await db.fetch(
        "SELECT quote_ident(tablename) FROM pg_tables"
        " WHERE schemaname = 'public' AND tableowner = current_user"
    ):
        await db.execute(f"ALTER TABLE public.{table} OWNER TO {user}")
    await db.close()

asyncio.run(main())
"""


def database_admin_secret(spec: ServiceSpec, role: DatabaseRole, p: ClusterTarget) -> Obj:
    """What the role Job needs: the master's URL (RDS-managed, rotating) and the app
    login's password, synced by External Secrets as the service's ServiceAccount."""
    return {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": _meta(f"{spec.name}-db-admin", p.namespace),
        "spec": {
            "refreshInterval": "5m",
            "secretStoreRef": {"name": f"{spec.name}-aws", "kind": "SecretStore"},
            "target": {
                "name": f"{spec.name}-db-admin",
                "creationPolicy": "Owner",
                "template": {
                    "engineVersion": "v2",
                    "data": {
                        "MASTER_LOCATION": database_location(
                            role.host, ("master_username", "master_password")
                        ),
                        "APP_PASSWORD": "{{ .app_password }}",
                    },
                },
            },
            # Both secrets hold `username` and `password`: prefix each one's fields.
            "dataFrom": [
                {
                    "extract": {"key": arn},
                    "rewrite": [{"regexp": {"source": "(.*)", "target": f"{prefix}_$1"}}],
                }
                for prefix, arn in (
                    ("master", role.master_secret_arn),
                    ("app", role.app_secret_arn),
                )
            ],
        },
    }


def _job_container(spec: ServiceSpec, p: ClusterTarget, name: str, command: list[str]) -> Obj:
    """The service's container (image, env, hardening) running `command` once: a Job's,
    so without the server's ports, probes and shutdown hook."""
    container = _container(spec, p)
    container.update(name=name, command=command)
    for key in ("ports", "startupProbe", "livenessProbe", "readinessProbe", "lifecycle"):
        container.pop(key)
    return container


def database_role_job(spec: ServiceSpec, role: DatabaseRole, p: ClusterTarget) -> Obj:
    """The Job that makes `role.user` (from the service's own image, pinned like it)."""
    name = f"{spec.name}-db-role"
    secret = f"{spec.name}-db-admin"
    container = _job_container(spec, p, "role", ["python", "-c", ROLE_SCRIPT])
    container.update(
        env=[
            {"name": "APP_USER", "value": role.user},
            *({"name": k, "value": v} for k, v in POSTGRES_TLS_ENV.items()),
            *(
                {"name": var, "valueFrom": {"secretKeyRef": {"name": secret, "key": var}}}
                for var in ("MASTER_LOCATION", "APP_PASSWORD")
            ),
        ],
        volumeMounts=[{"name": "tmp", "mountPath": "/tmp"}],  # noqa: S108 - an emptyDir
    )
    pod = deployment(spec, p)["spec"]["template"]["spec"]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": _meta(name, p.namespace),
        "spec": {
            "backoffLimit": 10,
            "template": {
                "metadata": {"labels": labels(name)},
                "spec": {
                    "restartPolicy": "OnFailure",
                    "automountServiceAccountToken": False,
                    "securityContext": pod["securityContext"],
                    "containers": [container],
                    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
                },
            },
        },
    }


def database_role_policy(spec: ServiceSpec, p: ClusterTarget) -> Obj:
    """The role Job reaches Postgres and nothing else (DNS comes from allow-dns)."""
    name = f"{spec.name}-db-role"
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta(name, p.namespace),
        "spec": {
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": name}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [],
            "egress": [
                {
                    "to": [{"ipBlock": {"cidr": p.vpc_cidr}}],
                    "ports": [{"protocol": "TCP", "port": 5432}],
                }
            ],
        },
    }


def cron_job(spec: ServiceSpec, job: CronJob, p: ClusterTarget) -> Obj:
    """`job` of `spec`: its container (image pinned like the Deployment's, same env and
    hardening) without ports or probes, as the service's ServiceAccount. One run at a
    time (Forbid), none caught up after an outage beyond its deadline."""
    name = f"{spec.name}-{job.name}"
    container = _job_container(spec, p, job.name, list(job.command))
    pod = deployment(spec, p)["spec"]["template"]["spec"]
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": _meta(name, p.namespace),
        "spec": {
            "schedule": job.schedule,
            "timeZone": "Etc/UTC",
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": job.deadline_s,
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {
                "spec": {
                    "backoffLimit": 2,
                    "activeDeadlineSeconds": job.deadline_s,
                    "template": {
                        "metadata": {"labels": labels(name)},
                        "spec": {
                            "restartPolicy": "Never",
                            "serviceAccountName": spec.name,
                            "automountServiceAccountToken": False,
                            "securityContext": pod["securityContext"],
                            "containers": [container],
                            "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
                        },
                    },
                }
            },
        },
    }


def cron_job_policy(spec: ServiceSpec, job: CronJob, p: ClusterTarget) -> Obj:
    """A run's pods take no traffic; they reach HTTPS (AWS APIs) when the job says so."""
    name = f"{spec.name}-{job.name}"
    egress: list[Obj] = []
    if job.egress_https:
        egress.append(
            {
                "to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}],
                "ports": [{"protocol": "TCP", "port": 443}],
            }
        )
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta(name, p.namespace),
        "spec": {
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": name}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [],
            "egress": egress,
        },
    }


def service_objects(spec: ServiceSpec, p: ClusterTarget, ports: dict[str, int]) -> list[Obj]:
    """Everything one service needs, in apply order."""
    objs = [service_account(spec, p)]
    if spec.volume is not None:
        objs.append(volume_claim(spec, p))
    if spec.external_secret is not None:
        objs += [secret_store(spec, p), external_secret(spec, p)]
    if spec.database_role is not None:
        role = spec.database_role
        objs += [
            database_admin_secret(spec, role, p),
            database_role_job(spec, role, p),
            database_role_policy(spec, p),
        ]
    objs += [deployment(spec, p), service(spec, p), network_policy(spec, p, ports)]
    for job in spec.cron_jobs:
        objs += [cron_job(spec, job, p), cron_job_policy(spec, job, p)]
    if spec.autoscale:
        objs.append(hpa(spec, p))
    if spec.replicas >= 2:
        objs.append(pdb(spec, p))
    objs.append(service_monitor(spec, p))
    if spec.slos:
        objs += [prometheus_rule(spec, p), dashboard(spec, p)]
    if spec.public_host is not None:
        objs.append(ingress(spec, p))
    return objs


def grouped_objects(specs: list[ServiceSpec], p: ClusterTarget) -> dict[str, list[Obj]]:
    """Every object of the platform by owner: `platform` (namespace-wide), then each service."""
    shared = [namespace(p), default_deny(p), allow_dns(p)]
    if p.efs_file_system_id is not None and any(s.volume for s in specs):
        shared.append(efs_storage_class(p.efs_file_system_id))
    ports = {s.name: s.port for s in specs}
    return {"platform": shared, **{spec.name: service_objects(spec, p, ports) for spec in specs}}


def platform_objects(specs: list[ServiceSpec], p: ClusterTarget) -> list[Obj]:
    """Every object of the platform in apply order (namespace-wide first)."""
    return [obj for group in grouped_objects(specs, p).values() for obj in group]


CRD_KINDS = frozenset(
    {
        "ServiceMonitor",
        "PrometheusRule",
        "SecretStore",
        "ExternalSecret",
    }
)
