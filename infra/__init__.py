"""The platform's Pulumi program (dev and prod stacks); see docs/infra.md."""
