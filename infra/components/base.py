"""What every component shares: its type token, naming (`project-stack-component`), tags."""

from __future__ import annotations

import json
from typing import Any

import pulumi

from infra.config import StackConfig

TYPE_PREFIX = "platform:infra"


class Component(pulumi.ComponentResource):
    """A ComponentResource named `<project>-<stack>-<component>` whose children are tagged."""

    component: str = "component"

    def __init__(self, cfg: StackConfig, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(
            f"{TYPE_PREFIX}:{type(self).__name__}", f"{cfg.prefix}-{self.component}", None, opts
        )
        self.cfg = cfg

    def name(self, suffix: str) -> str:
        """The name of a child resource: `project-stack-<suffix>`."""
        return f"{self.cfg.prefix}-{suffix}"

    def tags(self, service: str | None = None) -> dict[str, str]:
        return self.cfg.tags(service or self.component)

    def child(self, **extra: Any) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, **extra)

    def named(self, **extra: Any) -> pulumi.ResourceOptions:
        """Options of a child with a fixed physical name: a replacement must delete the old
        one first (create-before-replace would fail with AlreadyExists)."""
        return self.child(delete_before_replace=True, **extra)

    def data(self, **extra: Any) -> pulumi.ResourceOptions:
        """Options of a named child holding data: also `protect`ed where the stack protects
        its data (prod), so no `up` or `destroy` can delete it without an explicit unprotect."""
        return self.named(protect=self.cfg.deletion_protection, **extra)


def policy_json(statements: list[dict[str, Any]]) -> pulumi.Output[str]:
    """An IAM policy document (statements may hold outputs) as a JSON string output."""
    return pulumi.Output.from_input({"Version": "2012-10-17", "Statement": statements}).apply(
        lambda doc: json.dumps(doc, sort_keys=True)
    )
