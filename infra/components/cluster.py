"""EKS: the cluster, its managed nodes, the Kubernetes provider and the add-ons.

- Authentication mode API (access entries, no aws-auth ConfigMap); admins by config.
- Nodes in private subnets only; the API endpoint private + public (CIDR-limited).
- OIDC provider for IRSA; control-plane logs; Kubernetes Secrets envelope-encrypted (KMS).
- With `skipDefaultSecurityGroups` nodes and control plane share the EKS-created cluster
  security group, which is what RDS and EFS admit.
- Add-ons as pinned Helm releases behind config switches; EFS CSI (for dumbkv's SQLite
  volume) as an EKS add-on with its own IRSA role.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks
import pulumi_kubernetes as k8s
import pulumi_random as random

from infra.components.base import Component, policy_json
from infra.config import StackConfig
from infra.iam import irsa_trust, load_balancer_controller_statements

LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
NODE_POLICIES = (
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
    "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
)
LBC_SERVICE_ACCOUNT = "aws-load-balancer-controller"
STORAGE_CLASS = "gp3"
GRAFANA_ADMIN_SECRET = "grafana-admin"  # noqa: S105  # pragma: allowlist secret - a name
ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"

# Pinned chart versions (bump deliberately, one at a time, through a dev preview). The
# repositories come from stack config (`helmRepositories`): see infra/config.py.
CHARTS: dict[str, dict[str, str]] = {
    "aws-load-balancer-controller": {
        "version": "1.13.0",
        "namespace": "kube-system",
    },
    "metrics-server": {
        "version": "3.12.2",
        "namespace": "kube-system",
    },
    "kube-prometheus-stack": {
        "version": "72.6.2",
        "namespace": "monitoring",
    },
    "external-secrets": {
        "version": "0.17.0",
        "namespace": "external-secrets",
    },
    "reloader": {
        "version": "2.1.3",
        "namespace": "reloader",
    },
}


def _volume(size: str) -> dict[str, Any]:
    """A Prometheus-operator storage spec: one encrypted gp3 volume per replica."""
    return {
        "volumeClaimTemplate": {
            "spec": {
                "storageClassName": STORAGE_CLASS,
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": size}},
            }
        }
    }


class Cluster(Component):
    component = "cluster"

    def __init__(
        self,
        cfg: StackConfig,
        *,
        vpc_id: pulumi.Input[str],
        public_subnet_ids: list[pulumi.Output[str]],
        private_subnet_ids: list[pulumi.Output[str]],
        alerts_topic_arn: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(cfg, opts)
        self.alerts_topic_arn = alerts_topic_arn
        cc = cfg.cluster
        tags = self.tags()
        self.cluster_name = self.name("eks")

        secrets_key = aws.kms.Key(
            self.name("eks-secrets"),
            description=f"{self.cluster_name}: envelope encryption of Kubernetes Secrets",
            enable_key_rotation=True,
            tags=tags,
            # Losing it makes every Secret in etcd unreadable.
            opts=self.child(protect=cfg.deletion_protection),
        )
        # EKS creates its log group without retention on first write: create it first.
        control_plane_logs = aws.cloudwatch.LogGroup(
            self.name("eks-logs"),
            name=f"/aws/eks/{self.cluster_name}/cluster",
            retention_in_days=cc.log_retention_days,
            tags=tags,
            opts=self.named(),
        )
        principals = {
            **({} if cc.created_by_deploy_role else {"deploy": cc.deploy_role_arn}),
            "preview": cc.preview_role_arn,
            **{f"admin-{i}": arn for i, arn in enumerate(cc.admin_role_arns)},
        }
        access_entries = {
            key: eks.AccessEntryArgs(
                principal_arn=arn,
                access_policies={
                    "admin": eks.AccessPolicyAssociationArgs(
                        policy_arn=ADMIN_POLICY,
                        access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                    )
                },
            )
            # Server-side-apply previews are dry-run writes, authorised as writes: the
            # preview role needs the deploy role's rights in Kubernetes (docs/infra.md).
            for key, arn in principals.items()
        }
        self.cluster = eks.Cluster(
            self.name("eks"),
            name=self.cluster_name,
            version=cc.version,
            # At the end of standard support EKS upgrades the control plane instead of
            # billing extended support (+$0.60/h): the cost table holds, upgrades are ours.
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type="STANDARD"),
            vpc_id=vpc_id,
            public_subnet_ids=public_subnet_ids,
            private_subnet_ids=private_subnet_ids,
            node_associate_public_ip_address=False,
            endpoint_private_access=True,
            endpoint_public_access=True,
            public_access_cidrs=list(cc.public_access_cidrs),
            authentication_mode=eks.AuthenticationMode.API,
            # The CNI's network policy agent is off by default: without it default-deny
            # and every per-service NetworkPolicy are accepted and ignored.
            vpc_cni_options=eks.VpcCniOptionsArgs(enable_network_policy=True),
            access_entries=access_entries,
            create_oidc_provider=True,
            enabled_cluster_log_types=LOG_TYPES,
            encryption_config_key_arn=secrets_key.arn,
            skip_default_node_group=True,
            skip_default_security_groups=True,
            deletion_protection=cfg.deletion_protection,
            tags=tags,
            opts=self.child(depends_on=[control_plane_logs]),
        )

        node_role = aws.iam.Role(
            self.name("eks-nodes"),
            name=self.name("eks-nodes"),
            assume_role_policy=policy_json(
                [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "ec2.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ]
            ),
            tags=tags,
            opts=self.named(),
        )
        for i, arn in enumerate(NODE_POLICIES):
            aws.iam.RolePolicyAttachment(
                self.name(f"eks-nodes-{i}"), role=node_role.name, policy_arn=arn, opts=self.child()
            )
        ng = cc.node_group
        arm = all(t.split(".")[0].endswith("g") for t in ng.instance_types)
        self.node_group = eks.ManagedNodeGroup(
            self.name("nodes"),
            cluster=self.cluster,
            node_role=node_role,
            subnet_ids=private_subnet_ids,
            instance_types=list(ng.instance_types),
            ami_type="AL2023_ARM_64_STANDARD" if arm else "AL2023_x86_64_STANDARD",
            capacity_type="ON_DEMAND",
            disk_size=ng.disk_size_gb,
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=ng.min_size, desired_size=ng.desired_size, max_size=ng.max_size
            ),
            labels={"platform/pool": "general"},
            tags=tags,
            opts=self.child(),
        )

        self.kubeconfig = pulumi.Output.secret(self.cluster.kubeconfig_json)
        self.provider = k8s.Provider(
            self.name("k8s"),
            kubeconfig=self.kubeconfig,
            enable_server_side_apply=True,
            opts=self.child(),
        )
        self.oidc_provider_arn = self.cluster.oidc_provider_arn
        self.oidc_issuer = self.cluster.oidc_issuer
        self.node_security_group_id = self.cluster.node_security_group_id

        self.releases: dict[str, k8s.helm.v3.Release] = {}
        self.efs_file_system_id: pulumi.Output[str] | None = None
        self._addons(vpc_id, private_subnet_ids)
        self.register_outputs(
            {"clusterName": self.cluster_name, "oidcProviderArn": self.oidc_provider_arn}
        )

    def irsa_role(
        self,
        service: str,
        namespace: str,
        sa: str,
        statements: list[dict[str, Any]] | None = None,
        managed: str | None = None,
    ) -> aws.iam.Role:
        """An IAM role only `namespace/sa` of this cluster can assume, with `statements`."""
        role = aws.iam.Role(
            self.name(f"{service}-irsa"),
            name=self.name(f"{service}-irsa"),
            assume_role_policy=irsa_trust(
                self.oidc_provider_arn, self.oidc_issuer, namespace, sa
            ).apply(lambda doc: json.dumps(doc, sort_keys=True)),
            tags=self.tags(service),
            opts=self.named(),
        )
        if statements:
            aws.iam.RolePolicy(
                self.name(f"{service}-irsa"),
                role=role.id,
                policy=policy_json(statements),
                opts=self.child(),
            )
        if managed:
            aws.iam.RolePolicyAttachment(
                self.name(f"{service}-irsa"), role=role.name, policy_arn=managed, opts=self.child()
            )
        return role

    def _release(
        self, chart: str, values: dict[str, Any], depends_on: list[pulumi.Resource] | None = None
    ) -> k8s.helm.v3.Release:
        spec = CHARTS[chart]
        release = k8s.helm.v3.Release(
            self.name(chart),
            name=chart,
            chart=chart,
            version=spec["version"],
            namespace=spec["namespace"],
            create_namespace=True,
            repository_opts={"repo": self.cfg.helm_repositories[chart]},
            values=values,
            atomic=True,
            timeout=900,
            opts=self.child(
                provider=self.provider, depends_on=[self.node_group, *(depends_on or [])]
            ),
        )
        self.releases[chart] = release
        return release

    def _addons(
        self, vpc_id: pulumi.Input[str], private_subnet_ids: list[pulumi.Output[str]]
    ) -> None:
        addons = self.cfg.cluster.addons
        if addons.metrics_server:
            self._release(
                "metrics-server", {"args": ["--kubelet-preferred-address-types=InternalIP"]}
            )
        storage = self._ebs()
        if addons.kube_prometheus_stack:
            self._release(
                "kube-prometheus-stack",
                self._monitoring_values(),
                depends_on=[*storage, *self._monitoring()],
            )
        if addons.load_balancer_controller:
            role = self.irsa_role(
                "lb-controller",
                CHARTS["aws-load-balancer-controller"]["namespace"],
                LBC_SERVICE_ACCOUNT,
                load_balancer_controller_statements(),
            )
            self._release(
                "aws-load-balancer-controller",
                {
                    "clusterName": self.cluster_name,
                    "region": self.cfg.region,
                    "vpcId": vpc_id,
                    "replicaCount": 2,
                    "serviceAccount": {
                        "create": True,
                        "name": LBC_SERVICE_ACCOUNT,
                        "annotations": {"eks.amazonaws.com/role-arn": role.arn},
                    },
                },
            )
        if addons.external_secrets:
            self._release("external-secrets", {"installCRDs": True})
        if addons.reloader:
            # Only workloads that name a Secret in their annotation are restarted.
            self._release("reloader", {"reloader": {"watchGlobally": True}})
        if addons.efs_csi:
            self._efs(vpc_id, private_subnet_ids)

    def _ebs(self) -> list[pulumi.Resource]:
        """EBS CSI (EKS add-on, own IRSA role) and StorageClass `gp3` for Prometheus and
        Alertmanager volumes (EKS ships no working default class)."""
        role = self.irsa_role(
            "ebs-csi",
            "kube-system",
            "ebs-csi-controller-sa",
            managed="arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy",
        )
        addon = aws.eks.Addon(
            self.name("ebs-csi"),
            cluster_name=self.cluster_name,
            addon_name="aws-ebs-csi-driver",
            service_account_role_arn=role.arn,
            resolve_conflicts_on_update="OVERWRITE",
            tags=self.tags(),
            opts=self.child(depends_on=[self.node_group, self.cluster]),
        )
        gp3 = k8s.storage.v1.StorageClass(
            self.name("gp3"),
            metadata={"name": STORAGE_CLASS},
            provisioner="ebs.csi.aws.com",
            parameters={"type": "gp3", "encrypted": "true"},
            reclaim_policy="Retain",
            volume_binding_mode="WaitForFirstConsumer",
            allow_volume_expansion=True,
            opts=self.child(provider=self.provider, depends_on=[addon]),
        )
        return [addon, gp3]

    def _monitoring(self) -> list[pulumi.Resource]:
        """The monitoring namespace with Grafana's generated admin login, before the chart."""
        ns = CHARTS["kube-prometheus-stack"]["namespace"]
        namespace = k8s.core.v1.Namespace(
            self.name("monitoring"),
            metadata={"name": ns, "labels": {"kubernetes.io/metadata.name": ns}},
            opts=self.child(provider=self.provider),
        )
        password = random.RandomPassword(self.name("grafana-admin"), length=32, special=False)
        secret = k8s.core.v1.Secret(
            self.name("grafana-admin"),
            metadata={"name": GRAFANA_ADMIN_SECRET, "namespace": ns},
            type="Opaque",
            string_data={"admin-user": "admin", "admin-password": password.result},
            opts=self.child(provider=self.provider, depends_on=[namespace]),
        )
        return [namespace, secret]

    def _monitoring_values(self) -> dict[str, Any]:
        alertmanager_role = self.irsa_role(
            "alertmanager",
            CHARTS["kube-prometheus-stack"]["namespace"],
            "kube-prometheus-stack-alertmanager",
            [{"Effect": "Allow", "Action": ["sns:Publish"], "Resource": self.alerts_topic_arn}],
        )
        return {
            # EKS runs these control-plane parts itself and exposes no metrics endpoint
            # for them (kube-proxy listens on localhost): scraping them only alerts forever.
            "kubeControllerManager": {"enabled": False},
            "kubeScheduler": {"enabled": False},
            "kubeEtcd": {"enabled": False},
            "kubeProxy": {"enabled": False},
            "prometheus": {
                "prometheusSpec": {
                    # Select every ServiceMonitor/PrometheusRule, not only the chart's.
                    "serviceMonitorSelectorNilUsesHelmValues": False,
                    "ruleSelectorNilUsesHelmValues": False,
                    "retention": "15d",
                    "storageSpec": _volume("50Gi"),
                }
            },
            "alertmanager": {
                "serviceAccount": {
                    "annotations": {"eks.amazonaws.com/role-arn": alertmanager_role.arn}
                },
                "alertmanagerSpec": {"storage": _volume("5Gi")},
                "config": {
                    "route": {
                        "receiver": "sns",
                        "group_by": ["alertname", "namespace", "service"],
                        # The chart's always-firing heartbeat is not a page.
                        "routes": [{"receiver": "null", "matchers": ['alertname="Watchdog"']}],
                    },
                    "receivers": [
                        {"name": "null"},
                        {
                            "name": "sns",
                            "sns_configs": [
                                {
                                    "topic_arn": self.alerts_topic_arn,
                                    "sigv4": {"region": self.cfg.region},
                                }
                            ],
                        },
                    ],
                },
            },
            "grafana": {
                "admin": {
                    "existingSecret": GRAFANA_ADMIN_SECRET,
                    "userKey": "admin-user",
                    "passwordKey": "admin-password",  # pragma: allowlist secret - a key name
                },
                "sidecar": {
                    "dashboards": {
                        "enabled": True,
                        "label": "grafana_dashboard",
                        "searchNamespace": "ALL",
                    }
                },
            },
        }

    def _efs(self, vpc_id: pulumi.Input[str], private_subnet_ids: list[pulumi.Output[str]]) -> None:
        tags = self.tags("dumbkv")
        sg = aws.ec2.SecurityGroup(
            self.name("efs"),
            vpc_id=vpc_id,
            description="NFS from the EKS nodes",
            ingress=[
                aws.ec2.SecurityGroupIngressArgs(
                    protocol="tcp",
                    from_port=2049,
                    to_port=2049,
                    security_groups=[self.node_security_group_id],
                )
            ],
            tags=tags,
            opts=self.child(),
        )
        fs = aws.efs.FileSystem(
            self.name("efs"),
            encrypted=True,
            performance_mode="generalPurpose",
            throughput_mode="elastic",
            lifecycle_policies=[
                aws.efs.FileSystemLifecyclePolicyArgs(transition_to_ia="AFTER_30_DAYS")
            ],
            tags={**tags, "Name": self.name("efs")},
            opts=self.child(),
        )
        aws.efs.BackupPolicy(
            self.name("efs"),
            file_system_id=fs.id,
            backup_policy=aws.efs.BackupPolicyBackupPolicyArgs(status="ENABLED"),
            opts=self.child(),
        )
        for i, subnet in enumerate(private_subnet_ids):
            aws.efs.MountTarget(
                self.name(f"efs-{i}"),
                file_system_id=fs.id,
                subnet_id=subnet,
                security_groups=[sg.id],
                opts=self.child(),
            )
        role = self.irsa_role(
            "efs-csi",
            "kube-system",
            "efs-csi-controller-sa",
            managed="arn:aws:iam::aws:policy/service-role/AmazonEFSCSIDriverPolicy",
        )
        aws.eks.Addon(
            self.name("efs-csi"),
            cluster_name=self.cluster_name,
            addon_name="aws-efs-csi-driver",
            service_account_role_arn=role.arn,
            resolve_conflicts_on_update="OVERWRITE",
            tags=tags,
            opts=self.child(depends_on=[self.node_group, self.cluster]),
        )
        self.efs_file_system_id = fs.id
