"""What the rest of the platform relies on to reach the gateway: the port it listens on by
default and the prefix of the environment variables its settings read (`GATEWAY_HOST` and
`GATEWAY_PORT` move the interface and the port).

The one source of these facts: `settings.py` takes its env prefix and port default from
here, and `tools/launcher.py` (`make run`) and `infra/services.py` (the Kubernetes
Deployment and Service) import them instead of retyping them. Standard library only, so
neither pulls in the gateway's web stack.
"""

from __future__ import annotations

ENV_PREFIX = "GATEWAY_"
PORT = 8000
HOST_ENV = f"{ENV_PREFIX}HOST"
PORT_ENV = f"{ENV_PREFIX}PORT"
REMOTE_URLS_ENV = f"{ENV_PREFIX}REMOTE_URLS"  # comma-separated remote replicas

# The GraphQL endpoint: the route's own path (not an include prefix) in `api.py`, so the
# route template the metrics record is this; open to reads in `auth/policy.py`, and the
# route of the invoke-latency SLO (`slos.py`).
GRAPHQL_PATH = "/graphql"


def upstream_url_env(service: str) -> str:
    """The variable holding `service`'s base URL (`GATEWAY_DUMBKV_URL` for dumbkv): the
    settings field `<service>_url` under the gateway's prefix."""
    return f"{ENV_PREFIX}{service.upper()}_URL"
