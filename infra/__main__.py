"""Pulumi entry point: wiring only (read config, build, export). See infra/program.py."""

import sys
from pathlib import Path

# Pulumi runs this directory as a script; the program imports itself as the `infra` package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pulumi

from infra.config import load
from infra.program import build

for name, value in build(load()).items():
    pulumi.export(name, value)
