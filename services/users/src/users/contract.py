"""What the rest of the platform relies on to reach the users service: the port it listens
on by default and the prefix of the environment variables its settings read (`USERS_HOST`
and `USERS_PORT` move the interface and the port).

The one source of these facts: `settings.py` takes its env prefix and port default from
here, and `tools/launcher.py` (`make run`) and `infra/services.py` (the Kubernetes
Deployment and Service) import them instead of retyping them. Standard library only, so
neither pulls in the users service's web stack.
"""

from __future__ import annotations

ENV_PREFIX = "USERS_"
PORT = 8004
HOST_ENV = f"{ENV_PREFIX}HOST"
PORT_ENV = f"{ENV_PREFIX}PORT"
