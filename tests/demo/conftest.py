"""Fixtures for the demo-service tests: real uvicorn servers on loopback with a temp state dir."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

_ROOT = Path(__file__).resolve().parents[2]
for _p in (_ROOT / "tools", _ROOT):
    if str(_p) not in sys.path:  # until `pip install -e .` maps tools/agentrt_demo
        sys.path.insert(0, str(_p))

from agentrt_demo import DEMO_API_KEY, DemoServices, running_services  # noqa: E402


@pytest.fixture(scope="session")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServices]:
    """Both demo services, shared by the session (tests that write reset state themselves)."""
    with running_services(tmp_path_factory.mktemp("demo-state")) as svc:
        yield svc


@pytest.fixture
def headers() -> dict[str, str]:
    return {"X-API-Key": DEMO_API_KEY}
