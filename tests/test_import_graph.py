"""The import graph points down the pipeline: no module of agentrt imports a stage above its own.

Every module under ``agentrt/`` is parsed (never imported) and each ``import`` is an edge. A
module-level import (a ``TYPE_CHECKING`` block included: a type-only dependency is still a
dependency) may only reach the module's own stage or one below it. An import inside a function
is lazy, but it is held to the same rule unless it is listed in :data:`LAZY_UP` with the reason
it may point up. The demo package ``agentrt_demo`` sits above the whole library: only the CLI
commands that start the demo import it, and only lazily (:data:`DEMO_IMPORTERS`).

:data:`KNOWN_UPWARD` lists tolerated upward edges with the reason; it is empty.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "agentrt"

#: The pipeline, low → high. A module belongs to the stage of its longest matching name; a
#: package name covers its submodules. ``validation`` sits below ``toolset``: it is a leaf
#: (jsonschema only) and ``Toolset.validate`` is built on it. ``prompts`` sits below ``trace``:
#: the trace rebuilds every model request of a run with the prompt's own builder. ``mcp`` (the
#: MCP server and the MCP tools' executor) sits just above ``executor``, whose calls it makes;
#: turning an MCP listing into tools is toolset work (``agentrt.toolset.mcp``).
STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("base", ("agentrt.errors", "agentrt.protocol", "agentrt.redaction", "agentrt._log",
              "agentrt._lazy", "agentrt.logsetup", "agentrt.retrying", "agentrt.servers")),
    ("openapi", ("agentrt.openapi",)),
    ("validation", ("agentrt.validation",)),
    ("toolset", ("agentrt.toolset",)),
    ("grounding", ("agentrt.grounding",)),
    ("search", ("agentrt.search",)),
    ("backends", ("agentrt.backends", "agentrt.testing")),
    ("executor", ("agentrt.executor",)),
    ("mcp", ("agentrt.mcp",)),
    ("prompts", ("agentrt.prompts",)),
    ("trace", ("agentrt.trace", "agentrt.demonstrations", "agentrt.otel")),
    ("agent", ("agentrt.agent", "agentrt.agent_executor", "agentrt.result_scrub")),
    ("evaluation", ("agentrt.evaluation",)),
    ("synth", ("agentrt.synth",)),
    ("training", ("agentrt.training",)),
    ("cli", ("agentrt.cli", "agentrt.__main__")),
)
#: The facade (``agentrt/__init__.py``) sits above every stage; its names resolve lazily. A
#: stage may take only these names from it.
FACADE = "agentrt"
FACADE_NAMES = frozenset({"__version__"})
DEMO = "agentrt_demo"
#: The only modules that may import the demo package — lazily, inside the command.
DEMO_IMPORTERS = frozenset({"agentrt.cli.demo", "agentrt.cli.serve", "agentrt.cli.eval_cmd",
                            "agentrt.cli.repl", "agentrt.cli.synth"})
#: (importer, imported) → why this lazy import may point up the pipeline.
LAZY_UP: dict[tuple[str, str], str] = {}
#: (importer, imported) → the owner of the change that removes the edge, and how.
KNOWN_UPWARD: dict[tuple[str, str], str] = {}  # none left; an entry here must say why


@dataclass(frozen=True, slots=True, kw_only=True)
class Edge:
    importer: str
    imported: str
    line: int
    lazy: bool
    names: tuple[str, ...] = ()

    def __str__(self) -> str:
        where = f"{self.importer.replace('.', '/')}.py:{self.line}"
        how = "lazy " if self.lazy else ""
        return (f"{where}: {self.importer} [{stage_name(self.importer)}] {how}imports "
                f"{self.imported} [{stage_name(self.imported)}]")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def stage_index(module: str) -> int | None:
    best: tuple[int, int] | None = None  # (prefix length, stage index)
    for index, (_name, prefixes) in enumerate(STAGES):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and \
                    (best is None or len(prefix) > best[0]):
                best = (len(prefix), index)
    return None if best is None else best[1]


def stage_name(module: str) -> str:
    if module == FACADE:
        return "facade"
    if module.split(".")[0] == DEMO:
        return "demo"
    index = stage_index(module)
    return "unassigned" if index is None else STAGES[index][0]


def _resolve(importer: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = importer.split(".") if is_package else importer.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def edges_of(module: str, path: Path, known: dict[str, Path]) -> list[Edge]:
    """Every import of ``module`` that reaches agentrt or the demo package."""
    out: list[Edge] = []
    is_package = path.name == "__init__.py"

    def add(target: str, node: ast.stmt, lazy: bool, names: tuple[str, ...] = ()) -> None:
        if target.split(".")[0] in ("agentrt", DEMO):
            out.append(Edge(importer=module, imported=target, line=node.lineno, lazy=lazy,
                            names=names))

    def visit(node: ast.AST, lazy: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                for alias in child.names:
                    add(alias.name, child, lazy)
            elif isinstance(child, ast.ImportFrom):
                target = _resolve(module, is_package, child)
                names = tuple(a.name for a in child.names)
                submodules = [f"{target}.{n}" for n in names if f"{target}.{n}" in known]
                if submodules:  # ``from agentrt.toolset import render``: the submodule
                    for sub in submodules:
                        add(sub, child, lazy)
                    rest = tuple(n for n in names if f"{target}.{n}" not in known)
                    if rest:
                        add(target, child, lazy, rest)
                else:
                    add(target, child, lazy, names)
            else:
                visit(child, lazy or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                        ast.Lambda)))

    visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)), False)
    return out


def all_edges() -> list[Edge]:
    known = modules()
    return [e for module, path in known.items() for e in edges_of(module, path, known)]


def problem(edge: Edge) -> str | None:
    """Why ``edge`` breaks the layering, or None when it is allowed."""
    if edge.importer == FACADE:
        return None
    if edge.imported.split(".")[0] == DEMO:
        if edge.lazy and edge.importer in DEMO_IMPORTERS:
            return None
        return "the library imports the demo package"
    if edge.imported == FACADE:
        extra = sorted(set(edge.names) - FACADE_NAMES)
        return f"takes {', '.join(extra)} from the facade" if extra else None
    low, high = stage_index(edge.importer), stage_index(edge.imported)
    if low is None or high is None:
        return "a module with no stage (add it to STAGES)"
    if high <= low:
        return None
    if edge.lazy and (edge.importer, edge.imported) in LAZY_UP:
        return None
    return "points up the pipeline"


def offending() -> list[tuple[Edge, str]]:
    found = []
    for edge in all_edges():
        why = problem(edge)
        if why is not None:
            found.append((edge, why))
    return found


def test_every_module_has_a_stage() -> None:
    missing = [m for m in modules() if m != FACADE and stage_index(m) is None]
    assert not missing, "modules without a stage (add them to STAGES): " + ", ".join(missing)


def test_no_stage_imports_a_stage_above_it() -> None:
    bad = [(e, why) for e, why in offending()
           if (e.importer, e.imported) not in KNOWN_UPWARD]
    order = " → ".join(name for name, _ in STAGES)
    assert not bad, (f"imports must point down the pipeline ({order}):\n  "
                     + "\n  ".join(f"{e}  ({why})" for e, why in bad))


def test_the_walker_sees_upward_lazy_and_demo_edges(tmp_path: Path) -> None:
    """The checker itself: a made-up module with one edge of each kind is caught."""
    source = tmp_path / "toolset_probe.py"
    source.write_text(
        "from agentrt.backends.base import Candidate\n"          # up, module level
        "from agentrt.errors import ConfigError\n"                # down: fine
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from agentrt.executor import Executor\n"           # up, type-only: still counts
        "def f():\n"
        "    import agentrt_demo\n"                             # demo, lazy, not allowed here
        "    from agentrt.agent import Agent\n",                # up, lazy, not listed
        encoding="utf-8")
    found = edges_of("agentrt.toolset.probe", source, modules())
    verdicts = {(e.imported, e.lazy): problem(e) for e in found}
    assert verdicts == {
        ("agentrt.backends.base", False): "points up the pipeline",
        ("agentrt.errors", False): None,
        ("agentrt.executor", False): "points up the pipeline",
        (DEMO, True): "the library imports the demo package",
        ("agentrt.agent", True): "points up the pipeline",
    }
    assert "agentrt/toolset/probe.py:1" in str(found[0])
