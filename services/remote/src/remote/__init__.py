"""remote service."""
