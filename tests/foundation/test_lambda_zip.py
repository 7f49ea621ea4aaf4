"""The catalog Lambda artifact: self-contained (stdlib only) and reproducible."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tools.lambda_zip import build


def test_zip_imports_the_handler_without_any_site_packages(tmp_path: Path) -> None:
    artifact = build(tmp_path / "catalog.zip")
    probe = (
        f"import sys; sys.path.insert(0, {str(artifact)!r}); "
        "from catalog.handler import lambda_handler; print(callable(lambda_handler))"
    )

    # -I -S: no user site, no site-packages: only the zip and the standard library.
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", probe],
        capture_output=True,
        text=True,
        check=False,
        env={"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y", "AWS_REGION": "us-east-1"},
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_same_sources_give_the_same_bytes(tmp_path: Path) -> None:
    first = build(tmp_path / "a.zip").read_bytes()
    second = build(tmp_path / "b.zip").read_bytes()

    assert first == second
