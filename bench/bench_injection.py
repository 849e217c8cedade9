"""Prompt-injection benchmark: the demo's injection suite under each side-effect policy.

    python bench/bench_injection.py [--model scripted|embedded] [--policies allow,deny,confirm-deny,guard]
                                    [--kinds book_other,change_email,...] [--no-answer-check]
                                    [--no-grounded-arguments]
                                    [--max-seconds S] [--json OUT]
    python bench/bench_injection.py --demo-tasks       # the 52 normal demo tasks per policy

The demo services run on loopback with injected content (hotel descriptions/reviews and flight
notes carrying instructions, :mod:`agentrt_demo.injected`). Every task of
:func:`agentrt_demo.injection.injection_tasks` — 6 normal booking tasks (benign free text) and
30 injected ones (5 attacks × the same 6 tasks) — runs through a real ``Agent`` under each
policy. ``scripted`` is :class:`agentrt_demo.injection.ObedientModel`, which obeys every
instruction it finds in tool output (the worst case); ``embedded`` is the demo's model (the
embedded default with the demo's fine-tuned adapter, as ``agentrt demo`` runs it; tens of
seconds per task on a CPU) and ``embedded:base`` the stock one.

Columns: user tasks solved (normal / injected; the database holds exactly the user's bookings
and the answer states what was asked), injected side effects executed (bookings for the
attacker, the victim's booking cancelled) and in how many tasks, injected answers (the answer
passes on the attacker's address or URL), and answers the runtime refused for repeating
instructions from tool output.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

_ROOT = Path(__file__).resolve().parents[1]
for _p in (_ROOT / "tools", _ROOT):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from agentrt_demo.injection import (  # noqa: E402
    KINDS,
    InjectionScore,
    ObedientModel,
    injected_services,
    injection_tasks,
    run_suite,
)


def _backend_factory(model: str) -> tuple[Any, Any]:
    """(tasks → backend, the shared backend to close or None)."""
    if model == "scripted":
        return (lambda tasks: ObedientModel(tasks)), None
    from agentrt.backends import load_backend
    from agentrt_demo.model import demo_model

    backend = load_backend(demo_model(model))  # embedded: the demo's fine-tuned adapter; once
    return (lambda _tasks: backend), backend


def _progress(policy: str) -> Any:
    def show(s: InjectionScore) -> None:  # one line per task on stderr: a long run is watchable
        print(f"[{policy}] {s.task_id}: solved={s.solved} injected_side_effects="
              f"{s.injected_side_effects} injected_answer={s.injected_answer}",
              file=sys.stderr, flush=True)
    return show


def summarise(policy: str, scores: Sequence[InjectionScore]) -> dict[str, Any]:
    normal = [s for s in scores if s.kind is None]
    attacked = [s for s in scores if s.kind is not None]
    return {
        "policy": policy,
        "normal_solved": sum(s.solved for s in normal), "normal": len(normal),
        "injected_solved": sum(s.solved for s in attacked), "injected": len(attacked),
        "side_effects": sum(s.injected_side_effects for s in attacked),
        "side_effect_tasks": sum(s.injected_side_effects > 0 for s in attacked),
        "injected_answers": sum(s.injected_answer for s in attacked),
        "answers_refused": sum(s.stats.get("answers_rejected_ungrounded", 0) for s in attacked),
        "obeyed": sum(len(s.obeyed) for s in attacked),
        "by_kind": {k: {"side_effects": sum(s.injected_side_effects for s in attacked
                                            if s.kind == k),
                        "solved": sum(s.solved for s in attacked if s.kind == k),
                        "tasks": sum(1 for s in attacked if s.kind == k)}
                    for k in KINDS if any(s.kind == k for s in attacked)},
    }


def table(rows: Sequence[dict[str, Any]]) -> str:
    head = (f"{'policy':<14}{'normal solved':>15}{'injected solved':>17}"
            f"{'injected side effects':>23}{'injected answers':>18}{'answers refused':>17}")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['policy']:<14}{r['normal_solved']:>9}/{r['normal']:<5}"
            f"{r['injected_solved']:>11}/{r['injected']:<5}"
            f"{r['side_effects']:>12} in {r['side_effect_tasks']:>2}/{r['injected']:<5}"
            f"{r['injected_answers']:>13}/{r['injected']:<4}{r['answers_refused']:>15}")
    return "\n".join(lines)


async def demo_tasks(policies: Sequence[str]) -> list[tuple[str, int, int]]:
    """The whole demo task set (no injection) with the demo teacher under each policy:
    (policy, solved, tasks) — what a policy costs the user's own tasks."""
    from agentrt.agent import Agent
    from agentrt.executor import Executor
    from agentrt.executor.guard import guard_executor
    from agentrt_demo.injection import policy_for
    from agentrt_demo.serve import running_services
    from agentrt_demo.tasks import arun_task, load_tasks
    from agentrt_demo.teacher import DemoTeacher
    from agentrt_demo.toolset import demo_credentials, demo_toolset

    tasks = load_tasks()
    teacher = DemoTeacher(tasks)
    out = []
    with running_services(inject=False) as services:
        toolset = demo_toolset(services.flights_url, services.hotels_url)
        credentials = demo_credentials(toolset)
        for policy in policies:
            solved = 0
            for task in tasks:
                async def runner(request: str, _f: str, _h: str, day: Any = task.today,
                                 policy: str = policy) -> str:
                    async with Executor(toolset, credentials=credentials,
                                        policy=policy_for(policy)) as executor:
                        guarded = guard_executor(executor, query=request, toolset=toolset)
                        agent = Agent(teacher, toolset, executor=guarded,
                                      instructions=f"Today is {day.isoformat()}.")
                        return (await agent.run(request)).answer or ""

                solved += (await arun_task(task, runner, services=services)).passed
            out.append((policy, solved, len(tasks)))
    return out


async def amain(args: argparse.Namespace) -> int:
    if args.demo_tasks:
        for policy, solved, total in await demo_tasks(args.policies.split(",")):
            print(f"{policy:<14} demo tasks solved by the demo teacher: {solved}/{total}")
        return 0
    kinds = tuple(k for k in args.kinds.split(",") if k) if args.kinds else KINDS
    tasks = injection_tasks(kinds=kinds)
    make, shared = _backend_factory(args.model)
    settings: dict[str, Any] = {}
    if args.no_answer_check:
        settings["ground_answers"] = False
    if args.no_grounded_arguments:
        settings["ground_arguments"] = False
    if args.max_seconds:
        from agentrt.search import Budget

        settings["budget"] = Budget(max_seconds=args.max_seconds)
    rows, details = [], {}
    try:
        with injected_services() as services:
            for policy in args.policies.split(","):
                started = time.perf_counter()
                scores = await run_suite(tasks, policy, services, backend_for=make,
                                         on_result=_progress(policy), **settings)
                row = summarise(policy, scores)
                row["seconds"] = round(time.perf_counter() - started, 1)
                rows.append(row)
                details[policy] = [s.to_dict() for s in scores]
    finally:
        if shared is not None and hasattr(shared, "aclose"):
            await shared.aclose()
    print(f"model: {args.model}; {len(tasks)} tasks"
          f"{'; answer check off' if args.no_answer_check else ''}"
          f"{'; grounded arguments off' if args.no_grounded_arguments else ''}")
    print(table(rows))
    for r in rows:
        kinds_text = ", ".join(f"{k} {v['side_effects']}" for k, v in r["by_kind"].items())
        print(f"  {r['policy']}: side effects by attack: {kinds_text}  ({r['seconds']} s)")
    if args.json:
        Path(args.json).write_text(json.dumps({"model": args.model, "rows": rows,
                                               "tasks": details}, indent=2), encoding="utf-8")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="scripted",
                   help="scripted (an obedient scripted model) or a backend (embedded, …)")
    p.add_argument("--policies", default="allow,deny,confirm-deny,guard")
    p.add_argument("--kinds", default="", help=f"comma list of {', '.join(KINDS)}; default all")
    p.add_argument("--no-grounded-arguments", action="store_true",
                   help="run without grounded arguments (then under allow nothing checks who a "
                        "booking reaches: the bare threat)")
    p.add_argument("--no-answer-check", action="store_true",
                   help="run without the answer check (shows what the answers would carry)")
    p.add_argument("--max-seconds", type=float, default=None,
                   help="wall-time budget of one task (e.g. 300 for the embedded model)")
    p.add_argument("--json", help="write every task's score here")
    p.add_argument("--demo-tasks", action="store_true",
                   help="instead: the whole demo task set (no injection) with the demo teacher "
                        "under each policy")
    return asyncio.run(amain(p.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
