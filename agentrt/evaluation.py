"""Evaluation stage: the demo task set run through an Agent, per search mode, for the comparison
table (pass rate, hallucinated/invalid candidates proposed and executed, model calls and wall
time per task).

Each task runs against freshly reset demo services (``agentrt_demo.tasks.run_task``) with the
side-effect policy ``allow``; the checker decides pass or fail from the database and the answer.
All runs share one backend and one event loop (the sync :func:`evaluate` is an edge like
``Agent.run_sync``; inside a loop use :func:`aevaluate`).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from agentrt.agent import resolve_search
from agentrt.errors import ConfigError
from agentrt.search import Budget, RunResult, SearchConfig

__all__ = ["aevaluate", "evaluate", "format_table", "summarize"]

Progress = Callable[[dict[str, Any]], Any]
_COUNTS = ("model_calls", "candidates", "executed", "executed_invalid", "hallucinated",
           "invalid", "rejected_hallucinated", "rejected_invalid", "rejected_duplicate")


def _demo() -> tuple[Any, Any]:
    try:
        import agentrt_demo
        from agentrt_demo import tasks
    except ImportError as exc:  # pragma: no cover - shipped in the same wheel
        raise ConfigError(f"the demo task set is not installed ({exc})") from exc
    return agentrt_demo, tasks


def _toolset(flights_url: str, hotels_url: str) -> Any:
    from agentrt.toolset import Toolset

    demo, _ = _demo()
    return Toolset.merge(Toolset.from_spec(demo.spec_path("flights"), base_url=flights_url),
                         Toolset.from_spec(demo.spec_path("hotels"), base_url=hotels_url))


def _credentials(toolset: Any, key: str) -> dict[str, str]:
    return {name: key for s in toolset.services for name in s.security_schemes}


def summarize(mode: str, model: str, rows: Sequence[dict[str, Any]], seconds: float
              ) -> dict[str, Any]:
    """The summary of one mode's rows (the keys of the issue's JSON, plus per-task figures)."""
    n = len(rows)
    totals = {k: sum(int(r.get("stats", {}).get(k, 0)) for r in rows) for k in _COUNTS}
    passed = sum(1 for r in rows if r["passed"])
    return {
        "mode": mode, "model": model, "tasks": n, "passed": passed,
        "pass_rate": round(passed / n, 4) if n else 0.0,
        **totals,
        "seconds": round(seconds, 3),
        "model_calls_per_task": round(totals["model_calls"] / n, 2) if n else 0.0,
        "seconds_per_task": round(seconds / n, 3) if n else 0.0,
        "statuses": {s: sum(1 for r in rows if r.get("status") == s)
                     for s in ("solved", "gave_up", "out_of_budget", "refused", "error")},
    }


async def _run_one(task: Any, agent_for: Callable[[str, str], Any], tasks_mod: Any,
                   services: Any) -> tuple[Any, RunResult | None, str]:
    """One task through ``arun_task`` on the shared services (fresh ones if its day differs)."""
    holder: dict[str, Any] = {}

    async def runner(request: str, flights_url: str, hotels_url: str) -> str:
        result = await agent_for(flights_url, hotels_url).run(request)
        holder["result"] = result
        return result.answer or ""

    error = ""
    same_day = services is not None and getattr(task, "today", None) == services.today
    try:
        outcome = await tasks_mod.arun_task(task, runner,
                                            services=services.running if same_day else None)
    except Exception as exc:  # one broken task must not end the evaluation
        outcome, error = None, f"{type(exc).__name__}: {exc}"
    return outcome, holder.get("result"), error


class _Shared:
    """The demo services started once for a whole evaluation (state is reset per task)."""

    def __init__(self, running: Any, today: Any) -> None:
        self.running, self.today = running, today


async def aevaluate(backend: Any, mode: str | Sequence[str] = "dfs",
                    tasks: Iterable[Any] | str | Path | None = None, *,
                    json_out: str | Path | None = None, progress: Progress | None = None,
                    budget: Budget | None = None, k: int | None = None,
                    model: str | None = None,
                    agent_options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run the task set once per mode; see :func:`evaluate`."""
    demo, tasks_mod = _demo()
    if isinstance(backend, str):
        from agentrt.backends import load_backend

        model, backend = model or backend, load_backend(backend)
    model = str(model or getattr(backend, "name", type(backend).__name__))
    if tasks is None:
        task_list = list(tasks_mod.load_tasks())
    elif isinstance(tasks, (str, Path)):
        task_list = list(tasks_mod.load_tasks(tasks))
    else:
        task_list = list(tasks)
    modes = [mode] if isinstance(mode, str) else list(mode)
    configs = [resolve_search(m, k, backend) for m in modes]
    today = getattr(task_list[0], "today", None) if task_list else None
    instructions = f"Today is {(today or demo.demo_today()).isoformat()}."
    with contextlib.ExitStack() as stack:
        running = stack.enter_context(demo.running_services(today=today)) if task_list else None
        reports = [await _evaluate_mode(config, task_list, backend, model, budget, instructions,
                                        _Shared(running, today), progress,
                                        dict(agent_options or {}))
                   for config in configs]
    out: dict[str, Any] = dict(reports[0]) if len(reports) == 1 else {
        "summary": [r["summary"] for r in reports],
        "results": [row for r in reports for row in r["results"]]}
    out["table"] = format_table([r["summary"] for r in reports])
    if json_out is not None:
        Path(json_out).write_text(json.dumps(out, indent=2, ensure_ascii=False, default=str),
                                  encoding="utf-8")
    return out


async def _evaluate_mode(config: SearchConfig, task_list: Sequence[Any], backend: Any,
                         model: str, budget: Budget | None, instructions: str,
                         shared: _Shared, progress: Progress | None,
                         agent_options: dict[str, Any]) -> dict[str, Any]:
    """Every task once in one mode: the rows and their summary."""
    demo, tasks_mod = _demo()
    toolsets: dict[tuple[str, str], Any] = {}

    def agent_for(flights_url: str, hotels_url: str) -> Any:
        from agentrt.agent import Agent

        key = (flights_url, hotels_url)
        if key not in toolsets:
            toolsets[key] = _toolset(flights_url, hotels_url)
        toolset = toolsets[key]
        return Agent(backend, toolset, search=config, policy="allow", budget=budget,
                     credentials=_credentials(toolset, demo.DEMO_API_KEY),
                     instructions=instructions, **agent_options)

    rows: list[dict[str, Any]] = []
    started = time.monotonic()
    for i, task in enumerate(task_list):
        t0 = time.monotonic()
        outcome, result, error = await _run_one(task, agent_for, tasks_mod, shared)
        row = {
            "mode": config.mode,
            "task_id": getattr(outcome, "task_id", getattr(task, "id", str(i))),
            "category": getattr(task, "category", ""),
            "passed": bool(getattr(outcome, "passed", False)),
            "reasons": list(getattr(outcome, "reasons", []) or ([error] if error else [])),
            "answer": result.answer if result else getattr(outcome, "answer", None),
            "status": result.status if result else "error",
            "seconds": round(time.monotonic() - t0, 3),
            "stats": dict(result.stats) if result else {},
            "calls": [[c.tool, c.outcome] for c in result.calls] if result else [],
        }
        rows.append(row)
        if progress is not None:
            res = progress({"index": i + 1, "of": len(task_list), **row})
            if inspect.isawaitable(res):
                await res
    return {"summary": summarize(config.mode, model, rows, time.monotonic() - started),
            "results": rows}


def evaluate(backend: Any, mode: str | Sequence[str] = "dfs",
             tasks: Iterable[Any] | str | Path | None = None, *,
             json_out: str | Path | None = None, progress: Progress | None = None,
             budget: Budget | None = None, k: int | None = None,
             model: str | None = None,
             agent_options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run the demo task set through an Agent with ``backend`` (a model string or a backend)
    in each ``mode`` (``"dfs"``, ``"dfsdt"``, ``"react"`` or a list of them).

    Returns ``{"summary": {...}, "results": [...], "table": str}`` for one mode; for several,
    ``summary`` is a list (one per mode). ``json_out`` writes the same as JSON. ``progress``
    is called with each task's row as it finishes. ``budget`` and ``k`` apply to every mode;
    ``agent_options`` go to each :class:`~agentrt.agent.Agent` (e.g. ``max_tools``).
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(aevaluate(backend, mode, tasks, json_out=json_out,
                                     progress=progress, budget=budget, k=k, model=model,
                                     agent_options=agent_options))
    raise ConfigError("evaluate() was called inside a running event loop: use aevaluate()")


def format_table(summaries: Sequence[dict[str, Any]]) -> str:
    """The comparison table as fixed-width text, one row per mode."""
    head = ("mode", "tasks", "passed", "pass rate", "model calls/task", "s/task",
            "halluc. proposed", "invalid proposed", "executed invalid")
    rows = [(s["mode"], str(s["tasks"]), str(s["passed"]), f"{100 * s['pass_rate']:.1f}%",
             f"{s['model_calls_per_task']:.1f}", f"{s['seconds_per_task']:.1f}",
             str(s["hallucinated"]), str(s["invalid"]), str(s["executed_invalid"]))
            for s in summaries]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)
