"""users settings: USERS_* variables plus the standard AWS ones (AWS_REGION,
AWS_ENDPOINT_URL). There are no credential settings on purpose: boto's default chain
(IRSA in EKS, a profile or env locally) is the only source of credentials.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from observability import IdentitySettings
from users.contract import ENV_PREFIX, PORT

MIB = 1024 * 1024


class Settings(IdentitySettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX)

    host: str = "127.0.0.1"
    port: int = PORT
    log_level: str = "INFO"
    env: Literal["dev", "prod"] = "dev"
    table: str = Field(default="users", description="DynamoDB table (hash key `id`, S)")
    avatar_bucket: str = Field(default="platform-local-avatars", description="private S3 bucket")
    avatar_kms_key_id: str | None = Field(
        default=None, description="SSE-KMS key for avatars; SSE-S3 (AES256) when unset"
    )
    aws_region: str = Field(
        default="us-east-1", validation_alias=AliasChoices("AWS_REGION", "AWS_DEFAULT_REGION")
    )
    aws_endpoint_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("AWS_ENDPOINT_URL", "USERS_AWS_ENDPOINT_URL"),
        description="local AWS (moto server) in dev and tests; unset in the cloud",
    )
    create_resources: bool = Field(
        default=False, description="dev only: create the table and bucket at start"
    )
    max_avatar_bytes: int = Field(default=5 * MIB, gt=0)
    presign_ttl_s: int = Field(default=300, gt=0, le=3600)
    aws_timeout_s: float = Field(default=2.0, gt=0, description="per AWS call attempt")
    sweep_grace_s: float = Field(
        default=3600.0, gt=0, description="orphan avatars younger than this are kept (users.sweep)"
    )
    sweep_max_deletes: int = Field(default=1000, gt=0, description="orphans deleted per sweep")
