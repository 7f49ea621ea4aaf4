"""The docs name only environment variables and metrics that the code really has.

Every `PREFIX_NAME` variable a service README or a doc page mentions must be read by
that service's settings, and every platform metric a runbook or SLO page queries must be
registered somewhere in the code (Prometheus suffixes `_total`, `_bucket`, `_count`,
`_sum` allowed). Catches docs drifting from renamed settings and metrics.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic_settings import BaseSettings

from tools.launcher import SERVICES

ROOT = Path(__file__).resolve().parents[2]
DOCS = [*ROOT.glob("services/*/README.md"), *ROOT.glob("docs/**/*.md"), ROOT / "README.md"]


def _env_names(settings: type[BaseSettings]) -> set[str]:
    prefix = str(settings.model_config.get("env_prefix", ""))
    names: set[str] = set()
    for field, info in settings.model_fields.items():
        names.add(f"{prefix}{field}".upper())
        alias: Any = info.validation_alias
        choices = getattr(alias, "choices", None) or ([alias] if isinstance(alias, str) else [])
        names.update(str(choice).upper() for choice in choices)
    return names


def _known_env() -> dict[str, set[str]]:
    catalog_source = (ROOT / "services/catalog/src/catalog/settings.py").read_text()
    # Variables the launcher reads for `make run` (e.g. where remote replicas 2 and 3 go).
    launcher = {spec.port_override for spec in SERVICES}
    return {
        prefix: names | {name for name in launcher if name.startswith(prefix)}
        for prefix, names in _settings_env(catalog_source).items()
    }


def _settings_env(catalog_source: str) -> dict[str, set[str]]:
    from catalog import contract as catalog_contract
    from dumbkv.settings import Settings as Dumbkv
    from gateway.settings import Settings as Gateway
    from model_backend.settings import Settings as Backend
    from predictor.settings import Settings as Predictor
    from remote.settings import Settings as Remote
    from users.settings import Settings as Users

    return {
        "GATEWAY_": _env_names(Gateway),
        "DUMBKV_": _env_names(Dumbkv),
        "USERS_": _env_names(Users),
        "PREDICTOR_": _env_names(Predictor),
        "BACKEND_": _env_names(Backend),
        "REMOTE_": _env_names(Remote),
        # The catalog's settings are a stdlib dataclass (no pydantic on the Lambda path).
        "CATALOG_": set(re.findall(r'"(CATALOG_[A-Z0-9_]+)"', catalog_source))
        | {catalog_contract.HOST_ENV, catalog_contract.PORT_ENV},
    }


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: str(path.relative_to(ROOT)))
def test_documented_environment_variables_exist(doc: Path) -> None:
    known = _known_env()
    text = doc.read_text()
    unknown = []
    for prefix, names in known.items():
        # `${NAME}` is an envsubst placeholder of rendered manifests, not a setting.
        for name in set(re.findall(rf"(?<!\$\{{)\b{prefix}[A-Z0-9_]*[A-Z0-9]\b", text)):
            if name not in names:
                unknown.append(name)
    assert not unknown, f"{doc.name} names variables no settings read: {sorted(unknown)}"


# Not followed by ".py": bench scripts (bench/predictor_load.py) are not metrics.
METRIC = re.compile(r"\b((?:http_server|http_client|resilience|predictor)_[a-z_]+[a-z])\b(?!\.py)")
SUFFIXES = ("_total", "_bucket", "_count", "_sum")


def _registered_metrics() -> set[str]:
    names: set[str] = set()
    for source in [*ROOT.glob("libs/*/src/**/*.py"), *ROOT.glob("services/*/src/**/*.py")]:
        names.update(
            re.findall(
                r'"((?:http_server|http_client|resilience|predictor)_[a-z_]+)"', source.read_text()
            )
        )
    return names


@pytest.mark.parametrize(
    "doc",
    [
        *ROOT.glob("docs/**/*.md"),
        *ROOT.glob("services/*/README.md"),
        *ROOT.glob("libs/*/README.md"),
    ],
    ids=lambda path: str(path.relative_to(ROOT)),
)
def test_documented_metrics_exist(doc: Path) -> None:
    registered = _registered_metrics()

    def known(name: str) -> bool:
        bases = [name] + [name.removesuffix(s) for s in SUFFIXES if name.endswith(s)]
        return any(base in registered or f"{base}_total" in registered for base in bases)

    unknown = sorted({name for name in METRIC.findall(doc.read_text()) if not known(name)})
    assert not unknown, f"{doc.name} queries metrics the code does not register: {unknown}"
