"""Synth stage: run tasks through the real Agent with a teacher backend, keep the verified runs,
write their per-step records (format in :mod:`agentrt.synth`) and a summary.

The tasks and their world come from an evaluation :class:`~agentrt.evaluation.TaskSuite` (the
demo's, with its checker) or from :class:`RequestSuite` (plain requests against the user's own
APIs: no checker, so a run is kept when it is solved and its answer passes the grounded-answer
rules of :func:`agentrt.grounding.check_answer`).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentrt.agent import Agent
from agentrt.demonstrations import Demonstration
from agentrt.errors import ConfigError
from agentrt.evaluation import TaskSuite
from agentrt.grounding import Provenance, check_answer
from agentrt.protocol import maybe_await
from agentrt.search import Budget, RunResult
from agentrt.trace import StepRecord, scrub, step_records

if TYPE_CHECKING:
    from agentrt.backends.base import Backend
    from agentrt.toolset import Toolset

__all__ = ["Outcome", "RequestSuite", "RequestTask", "SynthSummary", "asynthesize",
           "grounded_answer_reason", "load_requests"]

Progress = Callable[[dict[str, Any]], Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestTask:
    """A plain request (no checker): ``id``, ``request``, optional ``category``."""

    id: str
    request: str
    category: str = "request"


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """How one request ended in a :class:`RequestSuite` (an evaluation ``TaskOutcome``)."""

    task_id: str
    passed: bool
    reasons: list[str]
    answer: str


def load_requests(path: str | Path) -> list[RequestTask]:
    """Requests from a JSONL file (``{"request": ..., "id"?: ..., "category"?: ...}`` per line)
    or a text file (one request per line)."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read tasks {path}: {exc.strerror}") from None
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if line.lstrip().startswith("{"):
            try:
                data = json.loads(line)
                out.append(RequestTask(id=str(data.get("id", f"req-{n}")),
                                       request=str(data["request"]),
                                       category=str(data.get("category", "request"))))
            except (ValueError, KeyError, TypeError) as exc:
                raise ConfigError(f"{path}:{n}: not a request line ({exc})") from None
        else:
            out.append(RequestTask(id=f"req-{n}", request=line.strip()))
    return out


def grounded_answer_reason(result: RunResult) -> str | None:
    """Why a solved run's answer is not grounded in its path, or None when it is."""
    if result.status != "solved" or not result.answer:
        return f"not solved ({result.status})"
    nodes = result.tree.index()
    done = [n for i in result.path
            if (n := nodes.get(i)) is not None and n.observation is not None
            and n.observation.ok]
    observations = [(n.tool or "", n.id, n.observation.body) for n in done]
    changes = sum(1 for n in done if getattr(n.observation, "side_effect", "safe") != "safe")
    verdict = check_answer(result.answer, result.query, Provenance.build(result.query,
                                                                         observations),
                           made_calls=len(observations), changes_made=changes)
    return None if verdict.status == "accepted" else verdict.note


class RequestSuite:
    """Plain requests against one toolset (the user's APIs): a ``TaskSuite`` with no checker
    (``checker = False``: the synth keeps a run when it is solved with a grounded answer).
    State is not reset between requests."""

    name = "requests"
    checker = False

    def __init__(self, toolset: Toolset, credentials: Mapping[str, str] | None = None, *,
                 instructions: str = "") -> None:
        self.toolset, self.credentials = toolset, dict(credentials or {})
        self.instructions = instructions
        self.last: RunResult | None = None

    def load_tasks(self, path: str | Path | None = None) -> Sequence[RequestTask]:
        if path is None:
            raise ConfigError("plain requests need a tasks file (--tasks)")
        return load_requests(path)

    @contextlib.contextmanager
    def session(self, tasks: Sequence[Any]) -> Iterator[None]:
        yield None

    async def run_task(self, task: RequestTask, session: Any, attempt: Any) -> Outcome:
        answer = await attempt(task.request, toolset=self.toolset,
                               credentials=self.credentials, instructions=self.instructions)
        return Outcome(task_id=task.id, passed=True, reasons=[], answer=answer)


@dataclass(slots=True, kw_only=True)
class SynthSummary:
    """What a synth run did (written as JSON beside the records)."""

    teacher: str
    seed: int | None
    tool_call_format: str
    tried: int = 0
    kept: int = 0
    records: int = 0
    repair_records: int = 0
    kept_with_recovery: int = 0
    seconds: float = 0.0
    by_category: dict[str, dict[str, int]] = field(default_factory=dict)
    rejected_reasons: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    model_calls: int = 0

    @property
    def recovery_share(self) -> float:
        return round(self.kept_with_recovery / self.kept, 4) if self.kept else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"teacher": self.teacher, "seed": self.seed,
                "tool_call_format": self.tool_call_format, "tried": self.tried,
                "kept": self.kept, "records": self.records,
                "repair_records": self.repair_records,
                "kept_with_recovery": self.kept_with_recovery,
                "recovery_share": self.recovery_share, "seconds": round(self.seconds, 2),
                "model_calls": self.model_calls, "by_category": self.by_category,
                "statuses": self.statuses, "rejected_reasons": self.rejected_reasons}

    def text(self) -> str:
        lines = [f"synth: {self.kept}/{self.tried} runs kept, {self.records} step records "
                 f"({self.repair_records} after a repair), recovery share "
                 f"{100 * self.recovery_share:.0f}%, {self.seconds:.1f} s, teacher "
                 f"{self.teacher} ({self.tool_call_format})"]
        for cat, row in sorted(self.by_category.items()):
            lines.append(f"  {cat:<18} {row['kept']}/{row['tried']}")
        for reason, count in sorted(self.rejected_reasons.items(), key=lambda kv: -kv[1]):
            lines.append(f"  rejected {count}x: {reason}")
        return "\n".join(lines)


def _reason_key(reasons: Sequence[str]) -> str:
    """A countable form of a checker's first reason (ids and numbers folded)."""
    import re

    text = reasons[0] if reasons else "not kept"
    return re.sub(r"\b[A-Z0-9-]{5,}\b|\d+(?:\.\d+)?", "#", text)[:120]


async def asynthesize(tasks: Sequence[Any], *, suite: TaskSuite, teacher: Backend,
                      out: str | Path, agent_options: Mapping[str, Any] | None = None,
                      budget: Budget | None = None, mode: str = "dfs",
                      seed: int | None = None, teacher_name: str | None = None,
                      runs_out: str | Path | None = None,
                      demonstrations_out: str | Path | None = None,
                      progress: Progress | None = None) -> SynthSummary:
    """Run every task once with ``teacher`` through the real Agent (policy ``allow``), keep
    the runs the suite's checker accepts, write their :func:`~agentrt.trace.step_records` to
    ``out`` (JSONL) and the summary to ``<out>.summary.json``. ``runs_out``: the kept runs as
    ``RunResult`` JSONL; ``demonstrations_out``: the kept runs that made calls, as a
    demonstrations store."""
    options = dict(agent_options or {})
    name = str(teacher_name or getattr(teacher, "name", None) or type(teacher).__name__)
    fmt = str(getattr(getattr(teacher, "capabilities", None), "tool_call_format", "openai"))
    summary = SynthSummary(teacher=name, seed=seed, tool_call_format=fmt)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with contextlib.ExitStack() as files, suite.session(list(tasks)) as session:
        records_fh = files.enter_context(open(out, "w", encoding="utf-8"))
        runs_fh = files.enter_context(open(runs_out, "w", encoding="utf-8")) \
            if runs_out else None
        demos_fh = files.enter_context(open(demonstrations_out, "w", encoding="utf-8")) \
            if demonstrations_out else None
        for i, task in enumerate(tasks):
            holder: dict[str, Any] = {}
            attempt = _attempt(teacher, holder, mode=mode, budget=budget, options=options)
            category = str(getattr(task, "category", "request"))
            row = summary.by_category.setdefault(category, {"tried": 0, "kept": 0})
            row["tried"] += 1
            summary.tried += 1
            outcome = await suite.run_task(task, session, attempt)
            result: RunResult | None = holder.get("result")
            reasons = list(outcome.reasons)
            passed = outcome.passed
            if passed and not getattr(suite, "checker", True):  # no checker: grounded answers
                why = grounded_answer_reason(result) if result is not None else "no run"
                passed, reasons = why is None, [why] if why else []
            if result is not None:
                summary.statuses[result.status] = summary.statuses.get(result.status, 0) + 1
                summary.model_calls += int(result.stats.get("model_calls", 0))
            records: list[StepRecord] = []
            if passed and result is not None:
                provenance = {"task_id": str(getattr(task, "id", i)), "category": category,
                              "seed": seed, "teacher": name}
                records = step_records(result, tool_call_format=fmt,  # type: ignore[arg-type]
                                       observation_chars=int(options.get(
                                           "observation_chars", 1200)),
                                       provenance=provenance)
            if not records:
                key = _reason_key(reasons if not passed
                                  else ["no step records (unsolved tree)"])
                summary.rejected_reasons[key] = summary.rejected_reasons.get(key, 0) + 1
            else:
                assert result is not None
                recovery = any(r.repair for r in records)
                for r in records:
                    line = r.model_copy(update={"provenance": {**r.provenance,
                                                               "recovery": recovery}})
                    records_fh.write(json.dumps(scrub(line.model_dump(mode="json")),
                                                ensure_ascii=False) + "\n")
                summary.kept += 1
                row["kept"] += 1
                summary.records += len(records)
                summary.repair_records += sum(1 for r in records if r.repair)
                summary.kept_with_recovery += int(recovery)
                if runs_fh is not None:
                    runs_fh.write(json.dumps(scrub(result.to_dict()), ensure_ascii=False)
                                  + "\n")
                if demos_fh is not None and result.calls:
                    demo = Demonstration.from_result(result, holder.get("tools"), source={
                        "task_id": str(getattr(task, "id", i)), "category": category,
                        "teacher": name, "seed": seed})
                    if demo is not None:
                        demos_fh.write(json.dumps(scrub(demo.model_dump(mode="json")),
                                                  ensure_ascii=False) + "\n")
            if progress is not None:
                await maybe_await(progress({
                    "index": i + 1, "of": len(tasks), "task_id": getattr(task, "id", i),
                    "category": category, "kept": bool(records),
                    "status": result.status if result else "error",
                    "reasons": reasons}))
    summary.seconds = time.monotonic() - started
    Path(f"{out}.summary.json").write_text(json.dumps(summary.to_dict(), indent=2) + "\n",
                                           encoding="utf-8")
    return summary



def _attempt(teacher: Backend, holder: dict[str, Any], *, mode: str, budget: Budget | None,
             options: Mapping[str, Any]) -> Callable[..., Awaitable[str]]:
    """The evaluation ``Attempt`` of one task: a fresh Agent with the teacher; the run's
    result (and the toolset's tool names) land in ``holder``."""

    async def attempt(request: str, *, toolset: Toolset, credentials: Any,
                      instructions: str = "") -> str:
        agent = Agent(teacher, toolset, search=mode, policy="allow", budget=budget,
                      credentials=credentials, instructions=instructions, **options)
        result = await agent.run(request)
        holder["result"], holder["tools"] = result, toolset.names
        return result.answer or ""

    return attempt
