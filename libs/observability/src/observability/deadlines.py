"""The request deadline lives in `resilience.deadlines`; this name stays for importers."""

from resilience.deadlines import (
    DEADLINE_HEADER,
    at_least,
    current_deadline,
    deadline_scope,
    expired,
    header_value,
    parse_header,
    remaining,
)

__all__ = [
    "DEADLINE_HEADER",
    "at_least",
    "current_deadline",
    "deadline_scope",
    "expired",
    "header_value",
    "parse_header",
    "remaining",
]
