"""Demo services, contracts: locate and load the OpenAPI documents of the demo services.

In a repository checkout the specs live in ``specs/`` at the root; in an installed wheel they
are packaged as ``agentrt_demo/specs/``.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

__all__ = ["SPEC_NAMES", "load_spec", "spec_path"]

SPEC_NAMES = ("flights", "hotels")
_HERE = Path(__file__).resolve().parent


def spec_path(name: str) -> Path:
    """Path of the OpenAPI document of demo service ``name`` ("flights" or "hotels")."""
    if name not in SPEC_NAMES:
        raise ValueError(f"unknown demo spec {name!r}; expected one of {', '.join(SPEC_NAMES)}")
    for folder in (_HERE / "specs", _HERE.parent.parent / "specs"):
        candidate = folder / f"{name}.yaml"
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"spec {name}.yaml not found next to {_HERE}")


@functools.cache
def load_spec(name: str) -> dict[str, Any]:
    """The parsed spec (cached; do not mutate)."""
    with spec_path(name).open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    if not isinstance(data, dict):
        raise ValueError(f"{name}.yaml is not a mapping")
    return data
