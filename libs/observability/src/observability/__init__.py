"""observability library (filled by its issue)."""
