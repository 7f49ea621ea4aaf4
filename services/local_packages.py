"""Print the in-repo packages a service image installs: the service and every lib under
libs/ its pyproject depends on, transitively (libs first, each once).

Run by services/Dockerfile's builder stage (stdlib only: the base image's python3):
    python3 services/local_packages.py <repository root> <service>
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

# A requirement's distribution name: what precedes extras, a version or a marker.
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _requirements(project: Path) -> list[str]:
    data = tomllib.loads((project / "pyproject.toml").read_text())
    names = []
    for requirement in data["project"].get("dependencies", []):
        match = _NAME.match(requirement)
        if match:
            names.append(match.group(1).lower().replace("_", "-"))
    return names


def local_packages(root: Path, service: str) -> list[Path]:
    """The lib directories `service` needs (dependencies before dependents), then the
    service's own directory. Raises FileNotFoundError for an unknown service."""
    libs = {path.name: path for path in sorted((root / "libs").iterdir()) if path.is_dir()}
    ordered: list[Path] = []

    def visit(project: Path) -> None:
        for name in _requirements(project):
            lib = libs.get(name)
            if lib is not None and lib not in ordered:
                visit(lib)
                ordered.append(lib)

    service_dir = root / "services" / service
    if not (service_dir / "pyproject.toml").is_file():
        raise FileNotFoundError(f"no service {service!r} under {root / 'services'}")
    visit(service_dir)
    return [*ordered, service_dir]


if __name__ == "__main__":
    root, service = Path(sys.argv[1]), sys.argv[2]
    print(" ".join(str(path) for path in local_packages(root, service)))
