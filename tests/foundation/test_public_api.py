"""The one public entry point stays honest: sorted __all__, every name importable, resolved
lazily (``import agentrt`` loads no heavy dependency), and the error tree drawn in errors.py is
the one that exists."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import agentrt
from agentrt import errors

REPO = Path(__file__).resolve().parents[2]


def test_all_is_sorted_and_complete() -> None:
    names = [n for n in agentrt.__all__ if n != "__version__"]
    assert names == sorted(names)
    for name in agentrt.__all__:
        assert hasattr(agentrt, name), name
    public = {n for n in dir(agentrt) if not n.startswith("_")
              and not isinstance(getattr(agentrt, n), type(agentrt))}
    assert public <= set(agentrt.__all__), public - set(agentrt.__all__)


def test_names_are_the_stage_modules_own() -> None:
    from agentrt.agent import Agent
    from agentrt.backends import load_backend
    from agentrt.protocol import Candidate
    from agentrt.toolset import Toolset

    assert (agentrt.Agent, agentrt.load_backend, agentrt.Candidate, agentrt.Toolset) == (
        Agent, load_backend, Candidate, Toolset)


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="PolicyError"):
        agentrt.PolicyError  # noqa: B018  # removed: nothing raised it


def test_import_is_lazy() -> None:
    code = ("import sys, agentrt\n"
            "heavy = ('httpx', 'jsonschema', 'pydantic', 'structlog', 'referencing', 'yaml')\n"
            "loaded = sorted({m.split('.')[0] for m in sys.modules} & set(heavy))\n"
            "stages = sorted(m for m in sys.modules if m.startswith('agentrt.'))\n"
            "print(loaded, stages)\n"
            "agentrt.Toolset\n"
            "print('httpx' in sys.modules or 'jsonschema' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, check=True, timeout=60)
    first, second = out.stdout.splitlines()
    assert first == "[] ['agentrt._lazy', 'agentrt.errors']"
    assert second == "True"  # a name that needs them loads them on first use


def test_errors_form_one_tree() -> None:
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), agentrt.AgentRTError)


def test_the_drawn_tree_is_the_real_one() -> None:
    """The tree in errors.py's docstring names exactly the classes that exist."""
    from agentrt.backends.llama_runtime import LlamaCrashError
    from agentrt.executor import AuthError
    from agentrt.training.errors import DataError, TrainExtraMissing, TrainingError

    drawn = re.findall(r"^[│ ]*(?:├── |└── )(\w+)\b", errors.__doc__ or "", re.MULTILINE)
    elsewhere = {"AuthError": (AuthError, errors.ExecutionError),
                 "LlamaCrashError": (LlamaCrashError, errors.BackendError),
                 "TrainingError": (TrainingError, errors.AgentRTError),
                 "TrainExtraMissing": (TrainExtraMissing, errors.ConfigError),
                 "DataError": (DataError, errors.ConfigError)}
    assert set(drawn) == {*errors.__all__, *elsewhere} - {"AgentRTError"}
    for cls, parent in elsewhere.values():
        assert issubclass(cls, parent)
    for gone in ("PolicyError", "BudgetExceeded"):  # drawn once, never raised: removed
        assert not hasattr(errors, gone) and gone not in agentrt.__all__
