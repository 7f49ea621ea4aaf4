"""The registry stack (`infra/registry`, project `platform-registry`, stack `shared`):
wiring only. Deployed by images.yml before any image is pushed; see docs/infra.md."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import pulumi

from infra.config import load_registry
from infra.registry_program import build_registry

for name, value in build_registry(load_registry()).items():
    pulumi.export(name, value)
