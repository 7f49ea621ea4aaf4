"""The whole program: build every component for one stack and return its outputs.

`__main__.py` calls `build(load())` and exports the result; tests call `build` under
mocks with a config of their choosing.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from infra import iam, manifests
from infra.components.alerts import Alerts
from infra.components.catalog import Catalog
from infra.components.cluster import Cluster
from infra.components.data import Data
from infra.components.edge import Edge
from infra.components.network import Network
from infra.components.workloads import Workloads
from infra.config import REGISTRY_PROJECT, REGISTRY_STACK, StackConfig
from infra.services import Endpoints, service_images, service_specs


def build(cfg: StackConfig) -> dict[str, Any]:
    # The configured account, never the caller's: names must not change with credentials
    # (and the provider's allowedAccountIds refuses any other account anyway).
    account_id = cfg.account_id

    network = Network(cfg)
    alerts = Alerts(cfg)
    cluster = Cluster(
        cfg,
        alerts_topic_arn=alerts.topic_arn,
        vpc_id=network.vpc_id,
        public_subnet_ids=network.public_subnet_ids,
        private_subnet_ids=network.private_subnet_ids,
    )
    data = Data(
        cfg,
        account_id=account_id,
        vpc_id=network.vpc_id,
        private_subnet_ids=network.private_subnet_ids,
        node_security_group_id=cluster.node_security_group_id,
    )
    catalog = Catalog(
        cfg,
        table_name=data.scores_table.name,
        table_arn=data.scores_table.arn,
        key_arn=data.key.arn,
        alarm_topic_arn=alerts.topic_arn,
    )

    users_role = cluster.irsa_role(
        "users",
        cfg.namespace,
        "users",
        iam.users_statements(data.users_table.arn, data.bucket.arn, data.key.arn),
    )
    dumbkv_role = cluster.irsa_role(
        "dumbkv",
        cfg.namespace,
        "dumbkv",
        iam.dumbkv_statements([data.db_secret_arn, data.db_app_secret_arn], data.key.arn),
    )

    endpoints = Endpoints(
        users_table=data.users_table.name,
        avatars_bucket=data.bucket.bucket,
        data_key_arn=data.key.arn,
        catalog_url=catalog.url,
        db_secret_arn=data.db_secret_arn,
        db_app_secret_arn=data.db_app_secret_arn,
        db_host=data.db_host,
        role_arns={"users": users_role.arn, "dumbkv": dumbkv_role.arn},
    )
    specs = service_specs(cfg, endpoints)
    platform = manifests.ClusterTarget(
        namespace=cfg.namespace,
        env=cfg.env,
        region=cfg.region,
        images=images(cfg),
        vpc_cidr=cfg.network.cidr,
        edge_cidrs=network.public_cidrs,
        efs_file_system_id=cluster.efs_file_system_id,
    )
    objects = manifests.platform_objects(specs, platform)
    edge = Edge(cfg, hosts=[s.public_host for s in specs if s.public_host])
    controller = cluster.releases.get("aws-load-balancer-controller")
    workloads = Workloads(
        cfg,
        objects=objects,
        provider=cluster.provider,
        releases=cluster.releases,
        ingress_depends_on=[*([controller] if controller else []), *edge.validations],
    )

    # Generated once, kept (encrypted) in the stack state, never in config: dumbkv's
    # pepper, and the identity-signing secret the gateway shares with the services.
    _generated_secret(workloads, cfg, "dumbkv-pepper", "pepper", service="dumbkv", length=48)
    _generated_secret(workloads, cfg, "platform-identity", "secret", service="gateway", length=64)

    return {
        "clusterName": cluster.cluster_name,
        "kubeconfig": cluster.kubeconfig,
        "imageTag": cfg.image_tag,
        "catalogApiUrl": catalog.url,
        "usersTable": data.users_table.name,
        "llmScoresTable": data.scores_table.name,
        "avatarsBucket": data.bucket.bucket,
        "dataKeyArn": data.key.arn,
        "dbEndpoint": data.db.endpoint,
        "dbHost": data.db_host,
        "dbSecretArn": data.db_secret_arn,
        "dbAppSecretArn": data.db_app_secret_arn,
        "awsAccountId": account_id,
        "alertsTopicArn": alerts.topic_arn,
        "dumbkvMode": cfg.dumbkv.database_type,
    }


__all__ = ["build"]


def images(cfg: StackConfig) -> dict[str, pulumi.Output[str]]:
    """Each image as `<registry>/<repository>@<digest>`: the tag resolved in the registry
    stack's account at preview time, so a tag nobody pushed fails the preview, not the
    rollout, and a Deployment changes only when the bytes do."""
    assert cfg.image_tag, "load() requires imageTag"
    registry = pulumi.StackReference(
        f"{pulumi.get_organization()}/{REGISTRY_PROJECT}/{REGISTRY_STACK}"
    )
    registry_id = registry.require_output("registryId")
    host = registry.require_output("registryHost")
    repositories = registry.require_output("repositories")
    out: dict[str, pulumi.Output[str]] = {}
    for image in service_images(cfg):
        repository = repositories.apply(lambda names, image=image: str(names[image]))
        digest = aws.ecr.get_image_output(
            registry_id=registry_id, repository_name=repository, image_tag=cfg.image_tag
        ).image_digest
        out[image] = pulumi.Output.concat(host, "/", repository, "@", digest)
    return out


def _generated_secret(
    workloads: Workloads, cfg: StackConfig, name: str, key: str, *, service: str, length: int
) -> None:
    """A Kubernetes Secret holding one random value created by the stack."""
    value = random.RandomPassword(name, length=length, special=False)
    workloads.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": name,
                "namespace": cfg.namespace,
                "labels": manifests.labels(service),
            },
            "type": "Opaque",
            "stringData": {key: value.result},
        },
        [r for n, r in workloads.resources.items() if n == f"namespace-{cfg.namespace}"],
    )
