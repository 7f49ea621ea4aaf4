"""Least-privilege IAM statements, as plain data, for every workload that calls AWS.

Kept apart from the roles so tests and reviewers read exactly what each identity may do:
- users: its table (item reads/writes, DescribeTable for readiness) and `avatars/*` in its
  bucket (put/get/delete), ListBucket only for HeadBucket (readiness), the data key for SSE-KMS;
- dumbkv: GetSecretValue on its RDS-managed secret (read by External Secrets as dumbkv);
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


def dumbkv_statements(secret_arn: pulumi.Input[str]) -> list[Statement]:
    return [
        {
            "Sid": "DatabaseSecret",
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
            "Resource": secret_arn,
        }
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
