"""deploy/manifests/ is committed for kubectl users and for review in pull requests: it
must be exactly what `make manifests` renders from the current code and stack files."""

from __future__ import annotations

from pathlib import Path

from infra.render_manifests import main

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "deploy" / "manifests"


def test_committed_manifests_match_a_fresh_render(tmp_path: Path) -> None:
    assert main(["--out", str(tmp_path)]) == 0

    fresh = {path.relative_to(tmp_path): path.read_text() for path in tmp_path.rglob("*.yaml")}
    committed = {
        path.relative_to(COMMITTED): path.read_text() for path in COMMITTED.rglob("*.yaml")
    }
    assert sorted(fresh) == sorted(committed), "run `make manifests` and commit deploy/"
    stale = [str(name) for name in fresh if fresh[name] != committed[name]]
    assert not stale, f"stale rendered manifests (run `make manifests`): {stale}"
