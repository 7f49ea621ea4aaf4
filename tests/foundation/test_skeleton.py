"""Learn one service, know them all: every service package has the same skeleton.

Read from the source tree (ast, not imports), so a new service is held to it from its
first commit: settings.py, app.py built on `observability.create_app`, deps.py, api.py
holding every route (dependencies and routes `async def`), domain modules that import
no web framework and raise no HTTP errors, the gateway's identity verified, and a
README with the same sections.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = sorted(path for path in ROOT.glob("services/*/src/*") if (path / "__init__.py").exists())
# schema.py is the gateway's GraphQL API: its types and resolvers are its routes.
WEB_LAYER = {"app.py", "api.py", "deps.py", "__main__.py", "schema.py"}
# Web plumbing that is neither a route nor domain: ASGI middleware of the edge.
MIDDLEWARE = {"gateway/security_headers.py"}
WEB_MODULES = ("fastapi", "starlette", "strawberry", "uvicorn")
HTTP_ERRORS = {"ProblemError", "problem_response", "HTTPException"}
README_SECTIONS = ["## What it does", "## API", "## Environment", "## SLOs", "## Run it alone"]
# The edge authenticates its callers (API keys, OIDC) and signs the identity it forwards.
SIGNS_RATHER_THAN_VERIFIES = {"gateway"}
# A stand-in for a third-party model server (Triton, KServe), which knows no identity.
THIRD_PARTY_STAND_INS = {"model_backend"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _domain_modules(package: Path) -> list[Path]:
    return [
        path
        for path in package.rglob("*.py")
        if path.name not in WEB_LAYER
        and str(path.relative_to(package.parent)) not in MIDDLEWARE
        and "migrations" not in path.parts
    ]


@pytest.fixture(params=PACKAGES, ids=lambda path: path.name)
def package(request: pytest.FixtureRequest) -> Path:
    return request.param


def test_every_service_package_has_the_skeletons_modules(package: Path) -> None:
    missing = [
        m for m in ("settings.py", "app.py", "deps.py", "api.py") if not (package / m).exists()
    ]
    assert missing == []


def test_every_app_is_built_by_observabilitys_create_app(package: Path) -> None:
    app = (package / "app.py").read_text()

    assert "observability" in " ".join(_imports(package / "app.py"))
    assert "create_app(" in app


def test_routes_are_declared_only_in_api_py(package: Path) -> None:
    declaring = [
        path.name
        for path in package.rglob("*.py")
        if path.name != "api.py"
        and any(marker in path.read_text() for marker in ("APIRouter(", "GraphQLRouter(", "@app."))
    ]
    assert declaring == []


def _plain_defs_on_the_request_path(module: Path) -> list[str]:
    """Dependencies (what deps.py passes to `Depends`) and route handlers of api.py
    that are plain `def`: FastAPI runs those in its thread pool, a hop to a worker
    thread and back (and a fight for the GIL with the event loop) on every request."""
    tree = ast.parse(module.read_text())
    if module.name == "deps.py":
        depended_on = {
            node.args[0].id
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "Depends" and node.args and isinstance(node.args[0], ast.Name)
        }  # fmt: skip
        functions = [
            n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in depended_on
        ]
    else:
        functions = [
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef)
            and any(
                isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute)
                and isinstance(d.func.value, ast.Name) and d.func.value.id in ("router", "app")
                for d in node.decorator_list
            )
        ]  # fmt: skip
    return [function.name for function in functions]


def test_dependencies_and_routes_run_on_the_event_loop(package: Path) -> None:
    plain = {
        name: found
        for name in ("deps.py", "api.py")
        if (package / name).exists() and (found := _plain_defs_on_the_request_path(package / name))
    }
    assert plain == {}


def test_domain_modules_import_no_web_framework_and_raise_no_http_error(package: Path) -> None:
    offending = {
        path.name: sorted(
            name
            for name in _imports(path)
            if name.split(".")[0] in WEB_MODULES or name.rsplit(".", 1)[-1] in HTTP_ERRORS
        )
        for path in _domain_modules(package)
    }
    assert {module: names for module, names in offending.items() if names} == {}


def test_every_service_verifies_the_gateways_identity(package: Path) -> None:
    if package.name in THIRD_PARTY_STAND_INS:
        pytest.skip("stands in for a server outside the platform")
    if package.name in SIGNS_RATHER_THAN_VERIFIES:
        assert "identity_secret" in (package / "settings.py").read_text()
        return
    assert "identity_secrets=" in (package / "app.py").read_text()


@pytest.mark.parametrize(
    "readme", sorted(ROOT.glob("services/*/README.md")), ids=lambda path: path.parent.name
)
def test_every_service_readme_has_the_same_sections(readme: Path) -> None:
    headings = [line for line in readme.read_text().splitlines() if line.startswith("## ")]

    assert [h for h in headings if h in README_SECTIONS] == README_SECTIONS


@pytest.mark.parametrize(
    "service", sorted(p.parent.name for p in ROOT.glob("services/*/pyproject.toml"))
)
def test_every_service_image_is_a_stage_of_the_one_dockerfile(service: str) -> None:
    dockerfile = (ROOT / "services" / "Dockerfile").read_text()

    assert not (ROOT / "services" / service / "Dockerfile").exists()
    assert f"FROM runtime AS {service}\n" in dockerfile
