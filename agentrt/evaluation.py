"""Evaluation stage: a task suite run through an Agent, per search mode, for the comparison
table (pass rate, hallucinated/invalid candidates proposed and executed, model calls and wall
time per task).

The tasks and their world come from a :class:`TaskSuite`: it loads the tasks, starts the
services they run against (once per evaluation), and for each task resets the state, hands the
evaluation an :class:`Attempt` to run the agent with the right toolset and credentials, and
checks the outcome. The library knows no suite of its own; the demo's
(``agentrt_demo.suite.DemoSuite``) is passed in by ``agentrt eval`` or by the caller. Side
effects are allowed (policy ``allow``, unless ``policy`` is among the agent options, e.g.
``agentrt eval --set policy=guard``): the checker judges what was done.

All runs share one backend and one event loop (the sync :func:`evaluate` is an edge like
``Agent.run_sync``; inside a loop use :func:`aevaluate`).
"""

from __future__ import annotations

import asyncio
import json
import re
import statistics
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import ValidationError

from agentrt.agent import Agent, resolve_search
from agentrt.errors import ConfigError
from agentrt.protocol import maybe_await
from agentrt.search import Budget, RunResult, SearchConfig

if TYPE_CHECKING:
    from agentrt.backends import Backend
    from agentrt.toolset import Toolset

__all__ = ["Attempt", "TaskOutcome", "TaskSuite", "aevaluate", "evaluate", "format_table",
           "passed_all", "summarize"]

Progress = Callable[[dict[str, Any]], Any]
_COUNTS = ("model_calls", "candidates", "executed", "executed_invalid", "executed_ungrounded",
           "hallucinated", "invalid", "ungrounded", "rejected_hallucinated", "rejected_invalid",
           "rejected_duplicate", "rejected_ungrounded", "rejected_unparseable",
           "answers_rejected", "answers_rejected_ungrounded")
#: the runtime's mechanisms, by the counter that says one fired (recorded per task)
MECHANISMS = {
    "validation": ("rejected_hallucinated", "rejected_invalid"),
    "grounded_arguments": ("rejected_ungrounded",),
    "grounded_answers": ("answers_rejected_ungrounded",),
    "no_repeats": ("rejected_duplicate",),
    "answer_check": ("answers_rejected",),
    "repair_of_unreadable": ("rejected_unparseable",),
}


class Attempt(Protocol):
    """Runs the agent on one request against the suite's services; returns its answer."""

    def __call__(self, request: str, *, toolset: Toolset, credentials: Mapping[str, str],
                 instructions: str = "") -> Awaitable[str]: ...


class TaskOutcome(Protocol):
    """How one task ended, as the suite's checker judged it."""

    @property
    def task_id(self) -> str: ...
    @property
    def passed(self) -> bool: ...
    @property
    def reasons(self) -> Sequence[str]: ...
    @property
    def answer(self) -> str: ...


class TaskSuite(Protocol):
    """A task set and the world it runs in."""

    def load_tasks(self, path: str | Path | None = None) -> Sequence[Any]:
        """The tasks (``path``: another tasks file of the same suite)."""
        ...

    def session(self, tasks: Sequence[Any]) -> AbstractContextManager[Any]:
        """The services the tasks run against, started once for the whole evaluation."""
        ...

    async def run_task(self, task: Any, session: Any, attempt: Attempt) -> TaskOutcome:
        """Reset the state for ``task``, call ``attempt`` once, check the outcome."""
        ...


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
        "median_seconds_per_task": round(statistics.median(
            [float(r.get("seconds", 0.0)) for r in rows]), 3) if n else 0.0,
        "limits": {lim: sum(1 for r in rows if r.get("limit") == lim)
                   for lim in sorted({str(r["limit"]) for r in rows if r.get("limit")})},
        "statuses": {s: sum(1 for r in rows if r.get("status") == s)
                     for s in ("solved", "gave_up", "out_of_budget", "refused", "needs_input",
                               "error")},
    }


def passed_all(report: Mapping[str, Any], min_pass: float = 1.0) -> bool:
    """True when every mode of ``report`` passed at least ``min_pass`` of its tasks (1.0: all
    of them). A report with no tasks has not passed."""
    summary = report["summary"]
    summaries = summary if isinstance(summary, list) else [summary]
    return bool(summaries) and all(s["tasks"] > 0 and s["passed"] / s["tasks"] >= min_pass
                                   for s in summaries)


async def _run_one(suite: TaskSuite, task: Any, session: Any,
                   agent_for: Callable[[Toolset, Mapping[str, str], str], Agent]
                   ) -> tuple[TaskOutcome | None, RunResult | None, str]:
    """One task through the suite; the agent's result is kept for the row's figures."""
    holder: dict[str, RunResult] = {}

    async def attempt(request: str, *, toolset: Toolset, credentials: Mapping[str, str],
                      instructions: str = "") -> str:
        result = await agent_for(toolset, credentials, instructions).run(request)
        holder["result"] = result
        return result.answer or ""

    try:
        outcome = await suite.run_task(task, session, attempt)
    except Exception as exc:  # one broken task must not end the evaluation
        return None, holder.get("result"), f"{type(exc).__name__}: {exc}"
    return outcome, holder.get("result"), ""


async def aevaluate(backend: Backend | str, mode: str | Sequence[str] = "dfs",
                    tasks: Iterable[Any] | str | Path | None = None, *, suite: TaskSuite,
                    json_out: str | Path | None = None, progress: Progress | None = None,
                    budget: Budget | None = None, k: int | None = None,
                    model: str | None = None,
                    agent_options: dict[str, Any] | None = None,
                    traces: str | Path | None = None,
                    search_options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Run the task set once per mode; see :func:`evaluate`."""
    if isinstance(backend, str):
        from agentrt.backends import load_backend

        model, backend = model or backend, load_backend(backend)
    model = str(model or getattr(backend, "name", type(backend).__name__))
    if tasks is None or isinstance(tasks, (str, Path)):
        task_list = list(suite.load_tasks(tasks))
    else:
        task_list = list(tasks)
    modes = [mode] if isinstance(mode, str) else list(mode)
    configs = [with_search_options(resolve_search(m, k, backend), search_options)  # type: ignore[arg-type]
               for m in modes]
    with suite.session(task_list) as session:
        reports = [await _evaluate_mode(config, task_list, backend, model, budget, suite,
                                        session, progress, dict(agent_options or {}),
                                        None if traces is None else Path(traces))
                   for config in configs]
    out: dict[str, Any] = dict(reports[0]) if len(reports) == 1 else {
        "summary": [r["summary"] for r in reports],
        "results": [row for r in reports for row in r["results"]]}
    out["table"] = format_table([r["summary"] for r in reports])
    if json_out is not None:
        Path(json_out).write_text(json.dumps(out, indent=2, ensure_ascii=False, default=str),
                                  encoding="utf-8")
    return out


async def _evaluate_mode(config: SearchConfig, task_list: Sequence[Any], backend: Backend,
                         model: str, budget: Budget | None, suite: TaskSuite, session: Any,
                         progress: Progress | None, agent_options: dict[str, Any],
                         traces: Path | None = None) -> dict[str, Any]:
    """Every task once in one mode: the rows and their summary (and, with ``traces``, each
    run's whole result — its search tree — as ``traces/MODE-TASK.json``)."""
    if traces is not None:
        traces.mkdir(parents=True, exist_ok=True)

    options = dict(agent_options)
    policy = options.pop("policy", "allow")  # --set policy=guard: judge under the default

    def agent_for(toolset: Toolset, credentials: Mapping[str, str], instructions: str
                  ) -> Agent:
        return Agent(backend, toolset, search=config, policy=policy, budget=budget,
                     credentials=dict(credentials), instructions=instructions, **options)

    rows: list[dict[str, Any]] = []
    started = time.monotonic()
    for i, task in enumerate(task_list):
        t0 = time.monotonic()
        outcome, result, error = await _run_one(suite, task, session, agent_for)
        row = {
            "mode": config.mode,
            "task_id": outcome.task_id if outcome else str(getattr(task, "id", i)),
            "category": getattr(task, "category", ""),
            "passed": bool(outcome and outcome.passed),
            "reasons": list(outcome.reasons) if outcome else [error],
            "answer": result.answer if result else (outcome.answer if outcome else None),
            "status": result.status if result else "error",
            "seconds": round(time.monotonic() - t0, 3),
            "stats": dict(result.stats) if result else {},
            "mechanisms": {name: sum(int(result.stats.get(k, 0)) for k in keys)
                           for name, keys in MECHANISMS.items()} if result else {},
            "limit": result.limit if result else None,
            "calls": [[c.tool, c.outcome] for c in result.calls] if result else [],
        }
        rows.append(row)
        if traces is not None and result is not None:
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{config.mode}-{row['task_id']}")
            (traces / f"{name}.json").write_text(result.to_json(indent=1), encoding="utf-8")
        if progress is not None:
            await maybe_await(progress({"index": i + 1, "of": len(task_list), **row}))
    summary = summarize(config.mode, model, rows, time.monotonic() - started)
    # what was switched: the search as run, and the agent settings given (policy included)
    summary["search"] = config.model_dump()
    summary["settings"] = {"policy": policy, **options}
    return {"summary": summary, "results": rows}


def evaluate(backend: Backend | str, mode: str | Sequence[str] = "dfs",
             tasks: Iterable[Any] | str | Path | None = None, *, suite: TaskSuite,
             json_out: str | Path | None = None, progress: Progress | None = None,
             budget: Budget | None = None, k: int | None = None,
             model: str | None = None,
             agent_options: dict[str, Any] | None = None,
             traces: str | Path | None = None,
             search_options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Run ``suite``'s tasks through an Agent with ``backend`` (a model string or a backend)
    in each ``mode`` (``"dfs"``, ``"dfsdt"``, ``"react"`` or a list of them).

    ``tasks``: the suite's own set (None), a tasks file of the suite, or the tasks themselves.
    Returns ``{"summary": {...}, "results": [...], "table": str}`` for one mode; for several,
    ``summary`` is a list (one per mode). ``json_out`` writes the same as JSON. ``progress``
    (sync or async) is called with each task's row as it finishes. ``budget`` and ``k`` apply
    to every mode; ``agent_options`` go to each :class:`~agentrt.agent.Agent` (e.g.
    ``max_tools``). ``traces``: a directory that receives each run's result (search tree
    included) as ``MODE-TASK.json``. ``search_options`` override fields of every mode's
    :class:`~agentrt.search.SearchConfig` (``{"answer_after_lookup": 0}``: one search
    mechanism off). :func:`passed_all` turns the report into a verdict.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(aevaluate(backend, mode, tasks, suite=suite, json_out=json_out,
                                     progress=progress, budget=budget, k=k, model=model,
                                     agent_options=agent_options, traces=traces,
                                     search_options=search_options))
    raise ConfigError("evaluate() was called inside a running event loop: use aevaluate()")


def with_search_options(config: SearchConfig, options: Mapping[str, Any] | None, *,
                        source: str = "search options") -> SearchConfig:
    """``config`` with ``options`` (SearchConfig fields but ``mode``) replacing its own;
    every problem at once in one :class:`ConfigError` naming ``source``."""
    if not options:
        return config
    if "mode" in options:
        raise ConfigError(f"{source} cannot change the mode: name the mode instead")
    try:
        return SearchConfig.model_validate({**config.model_dump(), **options})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                             for e in exc.errors())
        raise ConfigError(f"{source}: {problems}") from None


def format_table(summaries: Sequence[dict[str, Any]]) -> str:
    """The comparison table as fixed-width text, one row per mode."""
    head = ("mode", "tasks", "passed", "pass rate", "model calls/task", "s/task",
            "halluc. proposed", "invalid proposed", "ungrounded proposed", "executed invalid",
            "executed ungrounded", "answers refused")
    rows = [(s["mode"], str(s["tasks"]), str(s["passed"]), f"{100 * s['pass_rate']:.1f}%",
             f"{s['model_calls_per_task']:.1f}", f"{s['seconds_per_task']:.1f}",
             str(s["hallucinated"]), str(s["invalid"]), str(s.get("ungrounded", 0)),
             str(s["executed_invalid"]), str(s.get("executed_ungrounded", 0)),
             str(s.get("answers_rejected", 0) + s.get("answers_rejected_ungrounded", 0)))
            for s in summaries]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)
