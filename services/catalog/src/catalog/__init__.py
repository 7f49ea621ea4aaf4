"""catalog service."""
