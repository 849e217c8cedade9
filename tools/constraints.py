"""Writes constraints.txt: the exact versions of agentrt[dev,embedded,train]'s dependency closure in
the current environment (the set the test suite was last run green with).

    python tools/constraints.py > constraints.txt

The README's test command and .ci/run install with ``-c constraints.txt`` so a fresh install
gets this tested set instead of whatever is newest on the day (hypothesis 6.170 broke
hypothesis-jsonschema 0.23 that way). ``packaging`` ships with pip's environment.
"""

from __future__ import annotations

import importlib.metadata as md
import re

from packaging.requirements import Requirement

ROOT = ("agentrt", frozenset({"dev", "embedded", "train"}))


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def closure(root: str = ROOT[0], extras: frozenset[str] = ROOT[1]) -> dict[str, str]:
    """name -> installed version for ``root[extras]`` and everything it pulls in."""
    seen: dict[str, tuple[str, frozenset[str]]] = {}
    todo = [(root, extras)]
    while todo:
        name, wanted = todo.pop()
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue  # an optional dependency whose marker does not apply here
        key = _norm(dist.metadata["Name"])
        prev = seen.get(key)
        if prev is not None and wanted <= prev[1]:
            continue
        seen[key] = (dist.version, (prev[1] if prev else frozenset()) | wanted)
        for text in dist.requires or []:
            req = Requirement(text)
            envs = [{"extra": e} for e in (*wanted, "")]
            if req.marker is None or any(req.marker.evaluate(env) for env in envs):
                todo.append((req.name, frozenset(req.extras)))
    return {k: v for k, (v, _) in seen.items() if k != _norm(root)}


def main() -> None:
    print("# agentrt[dev,embedded,train] closure, tested; regenerate: "
          "python tools/constraints.py > constraints.txt")
    for name, version in sorted(closure().items()):
        print(f"{name}=={version}")


if __name__ == "__main__":
    main()
