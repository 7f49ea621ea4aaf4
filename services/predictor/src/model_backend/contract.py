"""What the rest of the platform relies on to reach the mock model server
(`python -m model_backend`): the port it listens on by default and the prefix of the
environment variables its settings read (`BACKEND_HOST` and `BACKEND_PORT` move the
interface and the port).

The one source of these facts: `settings.py` takes its env prefix and port default from
here, and `tools/launcher.py` (`make run`), `infra/services.py` (the dev stack's
Deployment and Service) and the predictor's default `PREDICTOR_BACKEND_URLS` import them
instead of retyping them. Standard library only, so none of them pulls in its web stack.
"""

from __future__ import annotations

ENV_PREFIX = "BACKEND_"
PORT = 8006
HOST_ENV = f"{ENV_PREFIX}HOST"
PORT_ENV = f"{ENV_PREFIX}PORT"
