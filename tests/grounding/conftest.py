"""Fixtures for the grounding tests: the demo toolsets, and the demo services on loopback."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

_ROOT = Path(__file__).resolve().parents[2]
for _p in (_ROOT / "tools", _ROOT):
    if str(_p) not in sys.path:  # until `pip install -e .` maps tools/agentrt_demo
        sys.path.insert(0, str(_p))

from agentrt.toolset import Toolset  # noqa: E402
from agentrt_demo import DemoServices, running_services  # noqa: E402
from agentrt_demo.specs import spec_path  # noqa: E402

#: the demo clock, pinned: the inventory and the task dates follow it, so every figure and
#: answer in these tests is the same on every day they run
TODAY = date(2026, 11, 25)


@pytest.fixture(scope="session")
def demo_toolset() -> Toolset:
    return Toolset.merge(Toolset.from_spec(spec_path("flights")),
                         Toolset.from_spec(spec_path("hotels")))


@pytest.fixture(scope="session")
def grounding_services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServices]:
    """Both demo services with the pinned clock, shared by the session."""
    with running_services(tmp_path_factory.mktemp("grounding-state"), today=TODAY) as svc:
        yield svc
