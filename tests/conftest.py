"""Shared fixtures: where the shared corpus lives, a skip when it is absent, and the logging
configuration put back after every test (the CLI and synth configure structlog)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "corpus" / "amadeus"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(autouse=True, scope="session")
def _spec_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The spec cache of the suite's loads goes to a temporary XDG_CACHE_HOME, not the user's
    ~/.cache/agentrt (the model files stay where AGENTRT_CACHE_DIR or the default puts them)."""
    import os

    if os.environ.get("AGENTRT_CACHE_DIR"):
        yield
        return
    mp = pytest.MonkeyPatch()
    mp.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
    yield
    mp.undo()


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    config = structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    structlog.configure(**config)
    root.handlers[:] = handlers
    root.setLevel(level)


def corpus_files() -> list[Path]:
    return sorted(CORPUS.glob("*.json")) if CORPUS.is_dir() else []


@pytest.fixture
def corpus() -> list[Path]:
    files = corpus_files()
    if not files:
        pytest.skip(f"shared corpus not found at {CORPUS} (a clone outside the workplace)")
    return files
