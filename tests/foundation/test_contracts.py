"""Each service's `<service>/contract.py` is the one place of its port and env prefix.

Python reads it (settings, `tools/launcher.py`, infra); services/Dockerfile cannot, so
its per-service stages restate the port (EXPOSE) and the interface variable (ENV): here
they are held to the contracts.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = sorted(path.parent.name for path in ROOT.glob("services/*/src/*/contract.py"))
# Image stage -> the contracts of what runs from that image (the predictor image also
# carries the mock model server).
IMAGES = {
    "gateway": ("gateway",),
    "remote": ("remote",),
    "dumbkv": ("dumbkv",),
    "predictor": ("predictor", "model_backend"),
    "users": ("users",),
    "catalog": ("catalog",),
}


def _contract(package: str) -> ModuleType:
    return importlib.import_module(f"{package}.contract")


def _stage(image: str) -> str:
    dockerfile = (ROOT / "services" / "Dockerfile").read_text()
    match = re.search(rf"^FROM runtime AS {image}\n(.*?)(?=^FROM |\Z)", dockerfile, re.M | re.S)
    assert match, f"no stage {image} in services/Dockerfile"
    return match.group(1)


def test_every_contract_is_placed_in_an_image() -> None:
    assert sorted(p for packages in IMAGES.values() for p in packages) == CONTRACTS


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_each_image_stage_listens_where_its_contracts_say(image: str) -> None:
    stage = _stage(image)
    main, *others = (_contract(package) for package in IMAGES[image])

    assert re.findall(r"^EXPOSE (\d+)$", stage, re.M) == [str(main.PORT)]
    for contract in (main, *others):
        assert re.search(rf"\b{contract.HOST_ENV}=0\.0\.0\.0\b", stage)
