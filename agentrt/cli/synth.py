"""Interfaces: ``agentrt synth`` — tasks + a teacher → verified trajectories, one JSONL record per
model step (format ``agentrt.step/1``, see :mod:`agentrt.synth`), and a summary beside them.

    agentrt synth --generate 200 --seed 1 --teacher demo --out steps.jsonl
    agentrt synth --tasks mine.jsonl --teacher openai:http://gpu:8000/v1#Qwen/Qwen3-32B \\
        --out steps.jsonl                     # demo tasks from a file, a model as teacher
    agentrt synth --spec api.yaml --tasks requests.txt --teacher vllm:... --out steps.jsonl

Without ``--spec`` the tasks are demo tasks run against the demo services (started here, state
reset per task) and judged by the demo's checker; ``--generate N`` draws N new ones from the
seeded inventory (never one of the 52 evaluation tasks; a ``--tasks`` file is checked the same
way and overlapping tasks are refused). With ``--spec`` the tasks are plain requests against
your APIs and a run is kept when it is solved with a grounded answer.

Exit 0 when at least one run was kept, 1 when none was, 2 on an error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from agentrt.cli.common import (
    close_backend,
    fraction,
    load_model,
    parse_credentials,
    run_async,
)
from agentrt.errors import ConfigError

__all__ = ["DESCRIPTION", "add_arguments", "run"]

DESCRIPTION = ("Run tasks with a teacher through the real agent (search, validation, executor) "
               "and keep the verified runs as per-step training records.")



def add_arguments(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group()
    src.add_argument("--generate", type=int, metavar="N",
                     help="generate N demo tasks (default 100 when no --tasks)")
    src.add_argument("--tasks", metavar="FILE",
                     help="tasks JSONL (demo tasks; with --spec: plain requests, JSONL or "
                          "one per line)")
    p.add_argument("--mix", default="", metavar="CATEGORY=WEIGHT,...",
                   help="with --generate: how often each category comes in the generator's "
                        "cycle, e.g. lookup=3,unsatisfiable=2 (unnamed categories 1)")
    p.add_argument("--seed", type=int, default=0, help="generator and teacher seed (default 0)")
    p.add_argument("--teacher", default="demo", metavar="TEACHER",
                   help="'demo' (the programmatic demo teacher) or a model string, e.g. "
                        "openai:URL#model (default demo)")
    p.add_argument("--format", dest="tool_call_format", default="native",
                   choices=("native", "json"),
                   help="how the demo teacher speaks: native (plain-text answers, the "
                        "embedded default's format; default) or json (finish calls)")
    p.add_argument("--recovery", type=fraction, default=0.3, metavar="SHARE",
                   help="share of demo-teacher runs with one deliberate wrong proposal that "
                        "the runtime rejects and the teacher repairs (default 0.3)")
    p.add_argument("--mode", default="dfs", choices=("dfs", "dfsdt", "react"),
                   help="search mode (default dfs)")
    p.add_argument("--max-seconds", type=float, default=None, help="wall-clock limit per run")
    p.add_argument("--out", required=True, metavar="STEPS.jsonl",
                   help="the step records; the summary goes to STEPS.jsonl.summary.json")
    p.add_argument("--runs", metavar="RUNS.jsonl", help="also write the kept runs (results)")
    p.add_argument("--demonstrations", metavar="FILE",
                   help="also write the kept runs that made calls as a demonstrations store")
    p.add_argument("--spec", "-s", action="append", default=[], metavar="FILE_OR_URL",
                   help="plain requests against these OpenAPI services instead of the demo")
    p.add_argument("--base-url", action="append", default=[], metavar="URL",
                   help="base URL per --spec, in order (default: the spec's servers)")
    p.add_argument("--credential", action="append", default=[], metavar="SCHEME=VALUE")
    p.add_argument("--credential-env", action="append", default=[], metavar="SCHEME=VAR")
    p.add_argument("--instructions", default="", help="extra system instructions (--spec)")


def run(args: argparse.Namespace) -> int:
    if args.generate is not None and args.generate < 1:
        raise ConfigError("--generate must be at least 1")
    if args.mix and args.generate is None:
        raise ConfigError("--mix weighs the generator's categories: give --generate N")
    if args.teacher == "demo" and args.spec:
        raise ConfigError("the demo teacher solves demo tasks only: give --teacher a model "
                          "for --spec")
    return int(run_async(_synth(args)))


def _progress(row: dict[str, Any]) -> None:
    mark = "kept" if row["kept"] else "dropped"
    why = "" if row["kept"] else f": {'; '.join(row['reasons'])[:160]}"
    print(f"[{row['index']}/{row['of']}] {row['task_id']} ({row['category']}): {mark} "
          f"({row['status']}){why}", file=sys.stderr, flush=True)


def _mix(text: str) -> dict[str, int]:
    """``lookup=3,unsatisfiable=2`` → weights; raises ``ValueError`` on a malformed entry."""
    weights: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        if not sep or not value.strip().isdigit():
            raise ValueError(f"{part!r} is not CATEGORY=WEIGHT (a whole number)")
        weights[name.strip()] = int(value)
    return weights


def _demo_tasks(args: argparse.Namespace) -> tuple[Any, list[Any], int]:
    """The demo suite, its tasks, and how many tasks of the file were refused (overlap)."""
    from agentrt_demo.generate import eval_index, generate_tasks, overlap, weighted_categories
    from agentrt_demo.suite import DemoSuite

    suite = DemoSuite()
    if args.tasks is None:
        try:
            cycle = weighted_categories(_mix(args.mix))
        except ValueError as exc:
            raise ConfigError(f"--mix: {exc}") from None
        return suite, generate_tasks(args.generate or 100, args.seed, categories=cycle), 0
    index = eval_index()
    try:  # the file's own lines (day offsets, {date+N}) are what the overlap check reads
        raws = {str(r.get("id")): r for r in (
            json.loads(line) for line in Path(args.tasks).read_text(encoding="utf-8")
            .splitlines() if line.strip())}
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read tasks {args.tasks}: {exc}") from None
    tasks, refused = [], 0
    for task in suite.load_tasks(args.tasks):
        if overlap(raws.get(task.id, task.model_dump(mode="json")), index) is not None:
            refused += 1  # an evaluation task: never train on it
            continue
        tasks.append(task)
    return suite, tasks, refused


async def _synth(args: argparse.Namespace) -> int:
    from agentrt.search import Budget
    from agentrt.synth.run import RequestSuite, asynthesize

    refused = 0
    if args.spec:
        from agentrt.cli.run import build_toolset

        if args.tasks is None:
            raise ConfigError("--spec needs --tasks (the requests)")
        suite: Any = RequestSuite(build_toolset(args),
                                  parse_credentials(args.credential, args.credential_env),
                                  instructions=args.instructions)
        tasks: list[Any] = list(suite.load_tasks(args.tasks))
    else:
        suite, tasks, refused = _demo_tasks(args)
    if refused:
        print(f"refused {refused} task(s) of {args.tasks} that overlap the evaluation set",
              file=sys.stderr)
    if not tasks:
        raise ConfigError("no tasks to run")
    if args.teacher == "demo":
        from agentrt_demo.teacher import DemoTeacher

        teacher: Any = DemoTeacher(tasks, recovery=args.recovery, seed=args.seed,
                                   tool_call_format=args.tool_call_format)
    else:
        teacher = await load_model(args.teacher)
    budget = Budget(max_seconds=args.max_seconds) if args.max_seconds else None
    print(f"synth: {len(tasks)} task(s) with teacher {args.teacher}", file=sys.stderr,
          flush=True)
    try:
        summary = await asynthesize(
            tasks, suite=suite, teacher=teacher, out=args.out, budget=budget, mode=args.mode,
            seed=args.seed if args.tasks is None else None,
            teacher_name=args.teacher, runs_out=args.runs,
            demonstrations_out=args.demonstrations, progress=_progress)
    finally:
        await close_backend(teacher)
    print(summary.text())
    print(f"records → {args.out}; summary → {args.out}.summary.json", file=sys.stderr)
    return 0 if summary.kept else 1
