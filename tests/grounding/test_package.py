"""The grounding package is pure: no I/O, no backend, executor, search or agent imports."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import agentrt.grounding as grounding

PACKAGE = Path(grounding.__file__).parent
FORBIDDEN = ("httpx", "agentrt.backends", "agentrt.executor", "agentrt.search", "agentrt.agent",
             "agentrt.prompts", "agentrt.cli", "llama_cpp")


def test_exports_are_sorted_and_real() -> None:
    def isort_style(name: str) -> tuple[int, str]:  # ruff RUF022: CONSTANTS, Classes, functions
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert grounding.__all__ == sorted(grounding.__all__, key=isort_style)
    assert all(hasattr(grounding, name) for name in grounding.__all__)


def test_sources_import_nothing_impure() -> None:
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for name in names:
                assert not name.startswith(FORBIDDEN), (path.name, name)


def test_importing_it_loads_no_backend_executor_or_search() -> None:
    code = ("import sys, agentrt.grounding; "
            "print(sorted(m for m in sys.modules if m.startswith(('agentrt.backends', "
            "'agentrt.executor', 'agentrt.search', 'agentrt.agent', 'llama_cpp'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=PACKAGE.parents[1])
    assert out.stdout.strip() == "[]", out.stdout
