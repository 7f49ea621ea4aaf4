"""resilience library (filled by its issue)."""
