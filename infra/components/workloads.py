"""The platform's Kubernetes objects, applied through the cluster's provider.

The objects come as plain data from `infra.manifests` (the same ones `make manifests`
renders); this component only turns each into its typed pulumi-kubernetes resource (or a
CustomResource for CRD kinds) and orders it after what it needs: the namespace, and the
Helm release that installs its CRD.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.components.base import Component
from infra.config import StackConfig
from infra.manifests import CRD_KINDS, Obj

KINDS: dict[str, Any] = {
    "Namespace": k8s.core.v1.Namespace,
    "ServiceAccount": k8s.core.v1.ServiceAccount,
    "Service": k8s.core.v1.Service,
    "ConfigMap": k8s.core.v1.ConfigMap,
    "Secret": k8s.core.v1.Secret,
    "PersistentVolumeClaim": k8s.core.v1.PersistentVolumeClaim,
    "Deployment": k8s.apps.v1.Deployment,
    "Job": k8s.batch.v1.Job,
    "CronJob": k8s.batch.v1.CronJob,
    "HorizontalPodAutoscaler": k8s.autoscaling.v2.HorizontalPodAutoscaler,
    "PodDisruptionBudget": k8s.policy.v1.PodDisruptionBudget,
    "NetworkPolicy": k8s.networking.v1.NetworkPolicy,
    "Ingress": k8s.networking.v1.Ingress,
    "StorageClass": k8s.storage.v1.StorageClass,
}

# Which Helm release installs the CRD of an API group.
CRD_RELEASES = {
    "monitoring.coreos.com": "kube-prometheus-stack",
    "external-secrets.io": "external-secrets",
}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def resource_name(obj: Obj) -> str:
    meta = obj["metadata"]
    return "-".join(filter(None, [obj["kind"].lower(), meta.get("namespace"), meta["name"]]))


class Workloads(Component):
    component = "workloads"

    def __init__(
        self,
        cfg: StackConfig,
        *,
        objects: list[Obj],
        provider: pulumi.ProviderResource,
        releases: Mapping[str, pulumi.Resource],
        ingress_depends_on: Sequence[pulumi.Resource] = (),
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(cfg, opts)
        self.provider = provider
        self.resources: dict[str, pulumi.CustomResource] = {}
        self.skipped: list[str] = []
        namespace: pulumi.Resource | None = None
        for obj in objects:
            group = obj["apiVersion"].split("/")[0] if "/" in obj["apiVersion"] else ""
            depends: list[pulumi.Resource] = []
            if obj["kind"] in CRD_KINDS:
                release = releases.get(CRD_RELEASES.get(group, ""))
                if release is None:  # the add-on is switched off: nothing serves the kind
                    self.skipped.append(resource_name(obj))
                    continue
                depends.append(release)
            if namespace is not None and obj["metadata"].get("namespace"):
                depends.append(namespace)
            if obj["kind"] == "Ingress":
                # The controller's webhooks admit Ingresses; the ALB needs the certificates.
                depends += ingress_depends_on
            res = self.apply(obj, depends)
            if obj["kind"] == "Namespace":
                namespace = res
        self.register_outputs({"objects": len(self.resources)})

    def apply(
        self, obj: Obj, depends_on: list[pulumi.Resource] | None = None
    ) -> pulumi.CustomResource:
        """Declare one object (typed resource, or CustomResource for CRD kinds)."""
        name = resource_name(obj)
        opts = self.child(provider=self.provider, depends_on=depends_on or [])
        kind = obj["kind"]
        if kind in KINDS:
            fields = {_snake(k): v for k, v in obj.items() if k not in ("apiVersion", "kind")}
            res = KINDS[kind](name, opts=opts, **fields)
        else:
            res = k8s.apiextensions.CustomResource(
                name,
                api_version=obj["apiVersion"],
                kind=kind,
                metadata=obj["metadata"],
                spec=obj.get("spec"),
                opts=opts,
            )
        self.resources[name] = res
        return res
