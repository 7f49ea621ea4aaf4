"""Least-privilege IAM statements, as plain data, for every workload that calls AWS.

Kept apart from the roles so tests and reviewers read exactly what each identity may do:
- users: its table (item reads/writes, DescribeTable for readiness) and `avatars/*` in its
  bucket (put/get/delete), ListBucket only for HeadBucket (readiness), the data key for SSE-KMS;
- dumbkv: GetSecretValue on its RDS-managed secret and its own login's secret (read by
  External Secrets as dumbkv), Decrypt with the data key;
- catalog (Lambda): GetItem/Query/Scan on `llm_scores`, nothing else on DynamoDB.
"""

from __future__ import annotations

from typing import Any

import pulumi

Statement = dict[str, Any]

USERS_TABLE_ACTIONS = (
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:Scan",
    "dynamodb:Query",
)
AVATAR_OBJECT_ACTIONS = ("s3:PutObject", "s3:GetObject", "s3:DeleteObject")
CATALOG_TABLE_ACTIONS = ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan")


def _suffix(arn: pulumi.Input[str], suffix: str) -> pulumi.Output[str]:
    return pulumi.Output.concat(arn, suffix)


def users_statements(
    table_arn: pulumi.Input[str], bucket_arn: pulumi.Input[str], key_arn: pulumi.Input[str]
) -> list[Statement]:
    return [
        {
            "Sid": "UsersTable",
            "Effect": "Allow",
            "Action": list(USERS_TABLE_ACTIONS),
            "Resource": table_arn,
        },
        {
            "Sid": "AvatarObjects",
            "Effect": "Allow",
            "Action": list(AVATAR_OBJECT_ACTIONS),
            "Resource": _suffix(bucket_arn, "/avatars/*"),
        },
        {
            # HeadBucket (the readiness check) is authorised by s3:ListBucket and carries
            # no s3:prefix: a prefix condition here would deny it and keep users unready.
            "Sid": "AvatarBucketHead",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": bucket_arn,
        },
        {
            "Sid": "DataKey",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": key_arn,
        },
    ]


def dumbkv_statements(
    secret_arns: list[pulumi.Input[str]], key_arn: pulumi.Input[str]
) -> list[Statement]:
    """Its two database secrets (RDS master for the role Job, its own login), and the
    data key its own login is encrypted with."""
    return [
        {
            "Sid": "DatabaseSecret",
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
            "Resource": secret_arns,
        },
        {"Sid": "DataKey", "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": key_arn},
    ]


def catalog_statements(
    table_arn: pulumi.Input[str], key_arn: pulumi.Input[str], log_group_arn: pulumi.Input[str]
) -> list[Statement]:
    return [
        {
            "Sid": "ScoresRead",
            "Effect": "Allow",
            "Action": list(CATALOG_TABLE_ACTIONS),
            "Resource": table_arn,
        },
        {"Sid": "ScoresKey", "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": key_arn},
        {
            "Sid": "OwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": _suffix(log_group_arn, ":*"),
        },
    ]


def irsa_trust(
    oidc_provider_arn: pulumi.Input[str], issuer: pulumi.Input[str], namespace: str, sa: str
) -> pulumi.Output[dict[str, Any]]:
    """Trust policy: only ServiceAccount `namespace/sa` of this cluster may assume the role."""
    return pulumi.Output.all(oidc_provider_arn, issuer).apply(
        lambda v: {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": v[0]},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {
                            f"{v[1]}:sub": f"system:serviceaccount:{namespace}:{sa}",
                            f"{v[1]}:aud": "sts.amazonaws.com",
                        }
                    },
                }
            ],
        }
    )


# The AWS Load Balancer Controller (ALB Ingresses), after the controller's published policy:
# read what it reconciles against, and change only load balancers, target groups and
# security groups it created (tagged `elbv2.k8s.aws/cluster`).
LBC_READ_ACTIONS = (
    "acm:DescribeCertificate",
    "acm:ListCertificates",
    "ec2:DescribeAccountAttributes",
    "ec2:DescribeAddresses",
    "ec2:DescribeAvailabilityZones",
    "ec2:DescribeCoipPools",
    "ec2:DescribeInstances",
    "ec2:DescribeInternetGateways",
    "ec2:DescribeIpamPools",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeRouteTables",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeTags",
    "ec2:DescribeVpcPeeringConnections",
    "ec2:DescribeVpcs",
    "ec2:GetCoipPoolUsage",
    "ec2:GetSecurityGroupsForVpc",
    "elasticloadbalancing:DescribeCapacityReservation",
    "elasticloadbalancing:DescribeListenerAttributes",
    "elasticloadbalancing:DescribeListenerCertificates",
    "elasticloadbalancing:DescribeListeners",
    "elasticloadbalancing:DescribeLoadBalancerAttributes",
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:DescribeRules",
    "elasticloadbalancing:DescribeSSLPolicies",
    "elasticloadbalancing:DescribeTags",
    "elasticloadbalancing:DescribeTargetGroupAttributes",
    "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTargetHealth",
    "elasticloadbalancing:DescribeTrustStores",
    "iam:GetServerCertificate",
    "iam:ListServerCertificates",
    "shield:GetSubscriptionState",
    "wafv2:GetWebACL",
    "wafv2:GetWebACLForResource",
)
LBC_CREATE_ACTIONS = (
    "elasticloadbalancing:CreateLoadBalancer",
    "elasticloadbalancing:CreateTargetGroup",
)
# It opens the cluster's (untagged) security group to its ALBs' groups, so ingress rules
# cannot be limited to groups it owns.
LBC_SECURITY_GROUP_ACTIONS = (
    "ec2:AuthorizeSecurityGroupIngress",
    "ec2:CreateSecurityGroup",
    "ec2:RevokeSecurityGroupIngress",
)
LBC_OWNED_ACTIONS = (
    "ec2:DeleteSecurityGroup",
    "elasticloadbalancing:AddTags",
    "elasticloadbalancing:DeleteLoadBalancer",
    "elasticloadbalancing:DeleteTargetGroup",
    "elasticloadbalancing:DeregisterTargets",
    "elasticloadbalancing:ModifyCapacityReservation",
    "elasticloadbalancing:ModifyListenerAttributes",
    "elasticloadbalancing:ModifyLoadBalancerAttributes",
    "elasticloadbalancing:ModifyTargetGroup",
    "elasticloadbalancing:ModifyTargetGroupAttributes",
    "elasticloadbalancing:RegisterTargets",
    "elasticloadbalancing:RemoveTags",
    "elasticloadbalancing:SetIpAddressType",
    "elasticloadbalancing:SetSecurityGroups",
    "elasticloadbalancing:SetSubnets",
    "elasticloadbalancing:SetWebAcl",
)
# Listeners and rules carry no tags of their own; they belong to the controller's ALBs.
LBC_LISTENER_ACTIONS = (
    "elasticloadbalancing:AddListenerCertificates",
    "elasticloadbalancing:CreateListener",
    "elasticloadbalancing:CreateRule",
    "elasticloadbalancing:DeleteListener",
    "elasticloadbalancing:DeleteRule",
    "elasticloadbalancing:ModifyListener",
    "elasticloadbalancing:ModifyRule",
    "elasticloadbalancing:RemoveListenerCertificates",
)
LBC_TAG = "elbv2.k8s.aws/cluster"


def load_balancer_controller_statements() -> list[Statement]:
    owned = {"Null": {f"aws:ResourceTag/{LBC_TAG}": "false"}}
    return [
        {"Sid": "Read", "Effect": "Allow", "Action": list(LBC_READ_ACTIONS), "Resource": "*"},
        {
            "Sid": "ServiceLinkedRole",
            "Effect": "Allow",
            "Action": ["iam:CreateServiceLinkedRole"],
            "Resource": "*",
            "Condition": {
                "StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}
            },
        },
        {
            "Sid": "SecurityGroupRules",
            "Effect": "Allow",
            "Action": list(LBC_SECURITY_GROUP_ACTIONS),
            "Resource": "*",
        },
        {
            "Sid": "CreateTagged",
            "Effect": "Allow",
            "Action": list(LBC_CREATE_ACTIONS),
            "Resource": "*",
            "Condition": {"Null": {f"aws:RequestTag/{LBC_TAG}": "false"}},
        },
        {
            "Sid": "TagOnCreate",
            "Effect": "Allow",
            "Action": ["ec2:CreateTags", "elasticloadbalancing:AddTags"],
            "Resource": "*",
            "Condition": {"Null": {f"aws:RequestTag/{LBC_TAG}": "false"}},
        },
        {
            "Sid": "Owned",
            "Effect": "Allow",
            "Action": list(LBC_OWNED_ACTIONS),
            "Resource": "*",
            "Condition": owned,
        },
        {
            "Sid": "OwnedSecurityGroupTags",
            "Effect": "Allow",
            "Action": ["ec2:CreateTags", "ec2:DeleteTags"],
            "Resource": "arn:aws:ec2:*:*:security-group/*",
            "Condition": owned,
        },
        {
            "Sid": "Listeners",
            "Effect": "Allow",
            "Action": list(LBC_LISTENER_ACTIONS),
            "Resource": "*",
        },
    ]
