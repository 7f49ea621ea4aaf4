"""`make lambda-zip`: the catalog Lambda artifact, services/catalog/dist/catalog.zip.

The handler has no third-party runtime dependency (see services/catalog/README.md), so
the zip holds the `catalog` package and the two stdlib-only modules of `observability`
it imports (the package `__init__` is lazy). Entries carry a fixed timestamp so the same
sources give the same bytes, and so the same Lambda code hash (no needless deploys).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from tools.procs import REPO_ROOT

OUTPUT = REPO_ROOT / "services" / "catalog" / "dist" / "catalog.zip"
FIXED_TIME = (2020, 1, 1, 0, 0, 0)


def sources() -> list[tuple[Path, str]]:
    catalog = REPO_ROOT / "services" / "catalog" / "src"
    observability = REPO_ROOT / "libs" / "observability" / "src"
    files = [(path, str(path.relative_to(catalog))) for path in catalog.rglob("*.py")]
    for name in ("__init__.py", "aws_lambda.py"):
        path = observability / "observability" / name
        files.append((path, f"observability/{name}"))
    return sorted(files, key=lambda pair: pair[1])


def build(output: Path = OUTPUT) -> Path:
    output.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, name in sources():
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return output


if __name__ == "__main__":
    built = build()
    print(f"lambda-zip: {built.relative_to(REPO_ROOT)} ({built.stat().st_size / 1024:.1f} KiB)")
