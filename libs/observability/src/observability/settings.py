"""Settings every service shares, as a base its own `Settings` class extends.

One declaration of the identity secrets (and their env vars), so the services that
verify the gateway's signed identity read them the same way: `PLATFORM_IDENTITY_SECRET`,
and `PLATFORM_IDENTITY_SECRET_PREVIOUS` while a rotation is under way.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings

from identity import PREVIOUS_SECRET_ENV, SECRET_ENV


class IdentitySettings(BaseSettings):
    """The gateway's signing secrets; pass `identity_secrets` to `create_app`."""

    identity_secret: str | None = Field(
        default=None,
        validation_alias=AliasChoices(SECRET_ENV),
        repr=False,
        description="shared with the gateway; when set, every call needs its signed identity",
    )
    identity_secret_previous: str | None = Field(
        default=None,
        validation_alias=AliasChoices(PREVIOUS_SECRET_ENV),
        repr=False,
        description="also accepted while the gateway's secret is being rotated",
    )

    @property
    def identity_secrets(self) -> tuple[str | None, str | None]:
        """The current secret, then the previous one (unset ones are skipped)."""
        return (self.identity_secret, self.identity_secret_previous)
