"""What the rest of the platform relies on to reach the remote: the port it listens on by
default and the prefix of the environment variables its settings read (`REMOTE_HOST` and
`REMOTE_PORT` move the interface and the port).

The one source of these facts: `settings.py` takes its env prefix and port default from
here, and `tools/launcher.py` (`make run`) and `infra/services.py` (the Kubernetes
Deployment and Service) import them instead of retyping them. Standard library only, so
neither pulls in the remote's web stack.
"""

from __future__ import annotations

ENV_PREFIX = "REMOTE_"
PORT = 8001
HOST_ENV = f"{ENV_PREFIX}HOST"
PORT_ENV = f"{ENV_PREFIX}PORT"
