"""Evaluation benchmark: the demo task set through dfs, dfsdt and react with one model.

    python bench/bench_eval.py [--model embedded] [--per-category 1] [--modes dfs,dfsdt,react]
                               [--max-calls 6] [--max-seconds 120] [--k 2] [--json OUT]

Picks the first ``--per-category`` tasks of every category (the whole set with 0), runs them
in each mode with the same budget, prints the comparison table and a per-task line, and
writes the full JSON (``agentrt eval`` runs the same code for one or more modes).
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from typing import Any

from agentrt.evaluation import evaluate
from agentrt.search import Budget


def pick(per_category: int, categories: str = "") -> list[Any]:
    from agentrt_demo.tasks import load_tasks

    tasks = load_tasks()
    if categories:
        wanted = categories.split(",")
        tasks = sorted((t for t in tasks if t.category in wanted),
                       key=lambda t: wanted.index(t.category))
    if per_category <= 0:
        return tasks
    seen: dict[str, int] = defaultdict(int)
    out = []
    for t in tasks:
        if seen[t.category] < per_category:
            seen[t.category] += 1
            out.append(t)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="embedded")
    p.add_argument("--per-category", type=int, default=1)
    p.add_argument("--categories", default="", help="comma list; default: all")
    p.add_argument("--modes", default="dfs,dfsdt,react")
    p.add_argument("--max-calls", type=int, default=6)
    p.add_argument("--max-seconds", type=float, default=120.0)
    p.add_argument("--k", type=int, default=None,
                   help="candidates per request (default: the Agent's choice for the backend)")
    p.add_argument("--json", default="bench/results/eval.json")
    args = p.parse_args()
    tasks = pick(args.per_category, args.categories)
    budget = Budget(max_model_calls=args.max_calls, max_seconds=args.max_seconds)
    from pathlib import Path

    Path(args.json).parent.mkdir(parents=True, exist_ok=True)

    def progress(row: dict[str, Any]) -> None:
        print(f"[{row['mode']:5}] {row['index']:2}/{row['of']} {row['task_id']:<32} "
              f"{'PASS' if row['passed'] else 'fail'} {row['status']:<13} "
              f"{row['seconds']:6.1f}s calls={row['calls']}", file=sys.stderr, flush=True)

    out = evaluate(args.model, args.modes.split(","), tasks, json_out=args.json,
                   progress=progress, budget=budget, k=args.k)
    print(out["table"])
    print(f"tasks: {len(tasks)} ({args.per_category} per category); budget: "
          f"{args.max_calls} model calls, {args.max_seconds:.0f} s per task; k={args.k}")


if __name__ == "__main__":
    main()
