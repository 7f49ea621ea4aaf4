"""What the rest of the platform relies on to reach the catalog's local adapter
(`python -m catalog`, `app.py`; on AWS the catalog is a Lambda behind an HTTP API, with no
port): the port it listens on by default and the variables that move it.

The one source of these facts: `settings.py` reads `CATALOG_HOST` / `CATALOG_PORT` and
takes the port default from here, and `tools/launcher.py` (`make run`) imports them
instead of retyping them. Standard library only, like the Lambda path.
"""

from __future__ import annotations

ENV_PREFIX = "CATALOG_"
PORT = 8005
HOST_ENV = f"{ENV_PREFIX}HOST"
PORT_ENV = f"{ENV_PREFIX}PORT"
