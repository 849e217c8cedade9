"""Interfaces: ``agentrt eval`` — the demo task set through the agent in one or more search
modes; the comparison table on stdout, progress on stderr, everything as JSON with ``--json``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from agentrt.cli.common import (
    add_model_arg,
    close_backend,
    default_model,
    load_model,
    run_async,
)
from agentrt.errors import ConfigError

__all__ = ["add_parser", "parse_modes", "run"]

_MODES = ("dfs", "dfsdt", "react")


def add_parser(sub: Any) -> None:
    p = sub.add_parser("eval", help="evaluate search modes on the demo task set",
                       description="Run the demo task set (fresh services per task, side "
                                   "effects allowed) in each mode and print the comparison.")
    add_model_arg(p)
    p.add_argument("--mode", action="append", default=[], metavar="MODE",
                   help="dfs, dfsdt, react; repeat or comma-separate (default: dfs)")
    p.add_argument("--tasks", metavar="FILE", help="a tasks JSONL file (default: the demo set)")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="only the first N tasks")
    p.add_argument("--k", type=int, default=None, help="candidates per node")
    p.add_argument("--max-seconds", type=float, default=None, help="wall-clock limit per task")
    p.add_argument("--json", dest="json_out", metavar="OUT", help="write everything as JSON")
    p.set_defaults(handler=run)


def parse_modes(values: list[str]) -> list[str]:
    """``["dfs,react", "dfsdt"]`` → ``["dfs", "react", "dfsdt"]`` (checked, deduplicated)."""
    modes = [m.strip().lower() for v in values for m in v.split(",") if m.strip()] or ["dfs"]
    bad = [m for m in modes if m not in _MODES]
    if bad:
        raise ConfigError(f"unknown mode {bad[0]!r}: use {', '.join(_MODES)}")
    return list(dict.fromkeys(modes))


def _tasks(path: str | None, limit: int | None) -> Any:
    from agentrt_demo import tasks as tasks_mod

    task_list = list(tasks_mod.load_tasks(path) if path else tasks_mod.load_tasks())
    if limit is not None:
        if limit < 1:
            raise ConfigError("--limit must be at least 1")
        task_list = task_list[:limit]
    return task_list


def _progress(row: dict[str, Any]) -> None:
    mark = "pass" if row["passed"] else "FAIL"
    print(f"[{row['mode']} {row['index']}/{row['of']}] {row['task_id']}: {mark} "
          f"({row['status']}, {row['seconds']:.1f}s)", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    return int(run_async(_eval(args)))


async def _eval(args: argparse.Namespace) -> int:
    from agentrt.evaluation import aevaluate
    from agentrt.search import Budget

    modes = parse_modes(args.mode)
    task_list = _tasks(args.tasks, args.limit)
    model = args.model or default_model()
    backend = await load_model(model)
    budget = Budget(max_seconds=args.max_seconds) if args.max_seconds else None
    print(f"evaluating {len(task_list)} task(s) × {', '.join(modes)} with {model}",
          file=sys.stderr, flush=True)
    try:
        report = await aevaluate(backend, modes, task_list, json_out=args.json_out,
                                 progress=_progress, budget=budget, k=args.k, model=model)
    finally:
        await close_backend(backend)
    print(report["table"])
    if args.json_out:
        print(f"results → {args.json_out}", file=sys.stderr)
    return 0
