"""What the rest of the platform relies on to reach dumbkv: the port it listens on by
default and the prefix of the environment variables its settings read (`DUMBKV_HOST` and
`DUMBKV_PORT` move the interface and the port).

The one source of these facts: `settings.py` takes its env prefix and port default from
here, and `tools/launcher.py` (`make run`) and `infra/services.py` (the Kubernetes
Deployment and Service) import them instead of retyping them. Standard library only, so
neither pulls in dumbkv's web stack.
"""

from __future__ import annotations

ENV_PREFIX = "DUMBKV_"
PORT = 8002
HOST_ENV = f"{ENV_PREFIX}HOST"
PORT_ENV = f"{ENV_PREFIX}PORT"
