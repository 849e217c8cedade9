"""Trace stage: runs as data — structlog events per search step, JSONL export of results, and
fine-tuning data made from our own runs.

* :func:`log_event` sends a :class:`~agentrt.search.SearchEvent` to structlog (logger
  ``agentrt.search``); the library never configures logging, the application does.
* :func:`write_jsonl` / :func:`read_jsonl`: one ``RunResult`` JSON object per line.
* :func:`finetune_records`: each solved run's successful path as an OpenAI-format chat
  transcript with tool calls (``{"messages": [...], "tools": [...]}``, the final step a
  ``finish`` call) — ToolLLM's "keep only the working path" data. :func:`negative_records`:
  each rejected candidate with the conversation before it, its violations and, when its
  parent is on the solved path, the step that was chosen there (a preference pair).
  :func:`export_finetune` writes both as JSONL.
* :func:`step_records`: one :class:`StepRecord` per model step of a solved run — exactly the
  messages the backend received for that step (system, request, path turns and the notes of
  that attempt), the tools offered and the reply — the training data of ``agentrt finetune``
  (format ``agentrt.step/1``, see :mod:`agentrt.synth`). :func:`replay_requests` rebuilds every
  model request of a run from its tree (the feedback the search had gathered at that point
  included) and :func:`request_messages` renders one with the prompt's own builder
  (:func:`agentrt.prompts.build_messages`): there is one transcript, and a test proves the
  rebuilt messages equal the ones the backend was sent.

Everything that leaves through here is passed through the process-wide secret scrubbing that
the executor registers its credentials in (:mod:`agentrt.redaction`, plus any ``secrets``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agentrt._log import get_logger
from agentrt.prompts import SYSTEM_PROMPT_TEXT, build_messages
from agentrt.protocol import EventKind, SearchEvent, call_message, finish_message, path_messages
from agentrt.redaction import DEFAULT_REDACTOR, Redactor
from agentrt.search.result import RunResult
from agentrt.search.steps import Feedback, Step, StepRequest
from agentrt.search.tree import Node

__all__ = [
    "STEP_FORMAT",
    "ReplayedRequest",
    "StepRecord",
    "export_finetune",
    "export_steps",
    "finetune_records",
    "log_event",
    "logs_events",
    "negative_records",
    "read_jsonl",
    "replay_requests",
    "request_messages",
    "scrub",
    "scrub_result",
    "step_records",
    "write_jsonl",
]

_log = get_logger("agentrt.search")
_INFO = frozenset({EventKind.RUN_STARTED, EventKind.ANSWER, EventKind.SIDE_EFFECT,
                   EventKind.COMPENSATED, EventKind.BUDGET_EXHAUSTED, EventKind.RUN_FINISHED})


def log_event(event: SearchEvent) -> None:
    """One structlog event per search step (``search.<kind>``); run-level ones at info.

    An event at a level nothing emits costs one level check: it is neither copied nor
    scrubbed."""
    level = "info" if event.kind in _INFO else "debug"
    if not _log.is_enabled(level):
        return
    data = {k: v for k, v in event.data.items() if k not in ("stats", "result")}
    method = _log.info if level == "info" else _log.debug
    method(f"search.{event.kind.value}", node=event.node, **scrub(data))


def logs_events() -> bool:
    """Whether :func:`log_event` would emit anything now (its run-level events are at info,
    the rest at debug): a run nothing else listens to makes no events when it would not."""
    return _log.is_enabled("info")


def scrub(value: Any, secrets: Iterable[str] = ()) -> Any:
    """``value`` without any secret the executor knows of (and without ``secrets``)."""
    extra = [s for s in secrets if s]
    redactor = Redactor(extra, parent=DEFAULT_REDACTOR) if extra else DEFAULT_REDACTOR
    return redactor.scrub(value)


def scrub_result(result: RunResult, secrets: Iterable[str] = ()) -> RunResult:
    """A copy of ``result`` passed through :func:`scrub`."""
    return RunResult.model_validate(scrub(result.to_dict(), secrets))


def _open(dest: str | Path | IO[str]) -> tuple[IO[str], bool]:
    if isinstance(dest, (str, Path)):
        return open(dest, "w", encoding="utf-8"), True
    return dest, False


def _write(records: Iterable[Mapping[str, Any]], dest: str | Path | IO[str],
           secrets: Iterable[str]) -> int:
    secrets = list(secrets)
    fh, owned = _open(dest)
    count = 0
    try:
        for record in records:
            fh.write(json.dumps(scrub(dict(record), secrets), ensure_ascii=False,
                                default=str) + "\n")
            count += 1
    finally:
        if owned:
            fh.close()
    return count


def write_jsonl(results: Iterable[RunResult], dest: str | Path | IO[str], *,
                secrets: Iterable[str] = ()) -> int:
    """Write one result per line (tree included); return how many."""
    return _write((r.to_dict() for r in results), dest, secrets)


def read_jsonl(source: str | Path) -> list[RunResult]:
    """Results written by :func:`write_jsonl`."""
    with open(source, encoding="utf-8") as fh:
        return [RunResult.from_json(line) for line in fh if line.strip()]


# -- fine-tuning data ---------------------------------------------------------------------------
def _step_message(node: Node) -> dict[str, Any]:
    """The assistant turn that proposed ``node`` (a tool call, or a finish call)."""
    if node.kind == "call":
        return call_message(node.id, node.thought, node.tool or "", node.arguments)
    if node.kind == "answer":
        return finish_message(node.id, node.thought, node.answer or "")
    if node.kind == "give_up":
        return finish_message(node.id, node.thought, None)
    return {"role": "assistant", "content": node.raw}


def _prefix(result: RunResult, nodes: Mapping[int, Node], upto: int,
            observation_chars: int) -> list[dict[str, Any]]:
    """system + user + the executed steps from the root down to node ``upto`` (included), built
    by the prompt's own :func:`~agentrt.protocol.path_messages`."""
    chain: list[Step] = []
    cur: int | None = upto
    while cur is not None and cur in nodes:
        node = nodes[cur]
        if node.kind == "call" and node.observation is not None:
            chain.append(Step(node=node.id, thought=node.thought, tool=node.tool or "",
                              arguments=node.arguments, observation=node.observation))
        cur = node.parent
    shown = ([{"role": "system", "content": result.demonstration}]
             if result.demonstration else [])
    return [{"role": "system", "content": result.system}, *shown,
            {"role": "user", "content": result.query},
            *path_messages(chain[::-1], observation_chars=observation_chars)]


def finetune_records(result: RunResult, *, observation_chars: int = 1200
                     ) -> list[dict[str, Any]]:
    """The solved run's path as one OpenAI chat transcript (``[]`` for an unsolved run)."""
    if result.status != "solved" or not result.path:
        return []
    nodes = result.tree.index()
    last = nodes.get(result.path[-1])
    if last is None or last.kind != "answer" or last.parent is None:
        return []
    messages = _prefix(result, nodes, last.parent, observation_chars)
    messages.append(_step_message(last))
    return [{"messages": messages, "tools": result.tools}]


def negative_records(result: RunResult, *, observation_chars: int = 1200,
                     native: bool | None = None) -> list[dict[str, Any]]:
    """Every rejected candidate of the run: the messages of the request that produced it (as
    the backend received them, notes included), the rejected step, why, and (when its parent
    is on the solved path) the step chosen there instead."""
    nodes = result.tree.index()
    on_path = set(result.path) if result.status == "solved" else set()
    by_node = {c.id: r for r in replay_requests(result) for c in r.candidates}
    out: list[dict[str, Any]] = []
    for node in sorted(nodes.values(), key=lambda n: n.id):
        if not node.status.startswith("rejected_") or node.parent is None:
            continue
        replayed = by_node.get(node.id)
        record: dict[str, Any] = {
            "messages": request_messages(result, replayed, native=native,
                                         observation_chars=observation_chars)
            if replayed is not None else _prefix(result, nodes, node.parent, observation_chars),
            "tools": result.tools,
            "rejected": _step_message(node),
            "status": node.status,
            "violations": [v.model_dump(mode="json") for v in node.violations],
        }
        if node.reason:
            record["reason"] = node.reason
        parent = nodes.get(node.parent)
        chosen = next((c for c in parent.children if c.id in on_path), None) if parent else None
        if chosen is not None:
            record["chosen"] = _step_message(chosen)
        out.append(record)
    return out


def export_finetune(results: Iterable[RunResult], dest: str | Path | IO[str], *,
                    negatives: str | Path | IO[str] | None = None,
                    secrets: Iterable[str] = ()) -> dict[str, int]:
    """Write the solved paths to ``dest`` (and the rejected candidates to ``negatives``) as
    JSONL; return the counts."""
    results = list(results)
    secrets = list(secrets)
    counts = {"positives": _write((r for res in results for r in finetune_records(res)), dest,
                                  secrets)}
    if negatives is not None:
        counts["negatives"] = _write((r for res in results for r in negative_records(res)),
                                     negatives, secrets)
    return counts


# -- per-step records: every model request of a run, rebuilt from its tree ----------------------
STEP_FORMAT = "agentrt.step/1"
ToolCallFormat = Literal["native", "json", "openai"]
_CHECK_REJECTED = frozenset({"rejected_hallucinated", "rejected_invalid",
                             "rejected_unparseable", "rejected_ungrounded"})


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplayedRequest:
    """One model request of a finished run, as the search made it: the :class:`StepRequest`
    (path and the feedback gathered at that node so far) and the candidates it returned."""

    number: int
    request: StepRequest
    candidates: tuple[Node, ...]


def _check_rejected(node: Node) -> bool:
    """Refused by the check before any acting (so its note precedes the batch's outcomes);
    an answer is checked when it is acted on."""
    if node.kind == "answer":
        return False
    return node.status in _CHECK_REJECTED or (
        node.status == "rejected_duplicate"
        and any(v.kind == "duplicate_failure" for v in node.violations))


def _problems(node: Node) -> tuple[str, ...]:
    if node.status == "rejected_duplicate":
        return (node.reason,)
    if node.status == "rejected_unparseable":
        return tuple(v.message for v in node.violations[:1])
    return tuple(v.message for v in node.violations)


class _Replay:
    """Walks a finished tree in the engine's order (see ``agentrt.search.engine``) and rebuilds
    the request made at every node: the same path, the same feedback, in the same order."""

    def __init__(self, result: RunResult) -> None:
        self.query = result.query
        self.root_id = result.tree.id
        self.out: list[ReplayedRequest] = []

    def expand(self, node: Node, path: tuple[Step, ...]) -> str:
        if not node.children:
            return "depth" if node.result == "depth_limit" else "exhausted"
        groups: dict[int, list[Node]] = {}
        for child in node.children:
            groups.setdefault(child.request, []).append(child)
        feedback: list[Feedback] = []
        used = tuple(dict.fromkeys(s.tool for s in path))
        for number in sorted(groups):
            batch = sorted(groups[number], key=lambda c: c.sample)
            self.out.append(ReplayedRequest(number=number, candidates=tuple(batch),
                                            request=StepRequest(
                query=self.query, path=path, feedback=tuple(feedback), n=len(batch),
                node=node.id, depth=node.depth, tools_used=used,
                answer_only=batch[0].answer_only)))
            for child in batch:
                if _check_rejected(child):
                    feedback.append(Feedback(kind="rejected", tool=child.tool,
                                             arguments=child.arguments, text=child.status,
                                             violations=_problems(child)))
            acting = sorted((c for c in batch if not _check_rejected(c)),
                            key=lambda c: c.kind == "give_up")
            for child in acting:
                verdict = self.act(node, child, path, feedback)
                if verdict:
                    return verdict
        return "exhausted"

    def act(self, node: Node, child: Node, path: tuple[Step, ...],
            feedback: list[Feedback]) -> str:
        if child.kind == "answer":
            if child.status.startswith("rejected_"):  # refused: ungrounded, or the check
                feedback.append(Feedback(kind="answer_rejected", text=child.reason))
                return ""
            return "solved"
        if child.kind == "give_up":
            if node.id == self.root_id:
                feedback.append(Feedback(kind="gave_up", text="gave up and restarted"))
                return ""
            return "gave_up"
        if child.status == "rejected_duplicate":  # refused when acting (sent in this batch)
            feedback.append(Feedback(kind="rejected", tool=child.tool,
                                     arguments=child.arguments, text=child.reason))
            return ""
        obs = child.observation
        if obs is None:
            if child.result == "depth_limit":
                feedback.append(Feedback(kind="depth", tool=child.tool,
                                         arguments=child.arguments,
                                         text="step limit reached: finish now"))
            return ""
        if child.result == "failed":
            feedback.append(Feedback(kind="failed", tool=child.tool, arguments=child.arguments,
                                     text=f"{obs.outcome}: {obs.message}".strip(": ")))
            return ""
        step = Step(node=child.id, thought=child.thought, tool=child.tool or "",
                    arguments=child.arguments, observation=obs)
        sub = self.expand(child, (*path, step))
        if sub == "solved" or child.result == "solved":
            return "solved"
        if child.result == "depth_limit":
            sub = "depth"
        feedback.append(Feedback(kind="dead_end", tool=child.tool, arguments=child.arguments,
                                 text=f"led nowhere ({sub})"))
        return ""


def replay_requests(result: RunResult) -> list[ReplayedRequest]:
    """Every model request of the run that returned candidates, in request order, rebuilt from
    the tree. A request that returned nothing left no node and is not among them."""
    replay = _Replay(result)
    replay.expand(result.tree, ())
    return sorted(replay.out, key=lambda r: r.number)


def _is_native(result: RunResult, native: bool | None) -> bool:
    return native if native is not None else result.system.startswith(SYSTEM_PROMPT_TEXT)


def request_messages(result: RunResult, request: ReplayedRequest, *, native: bool | None = None,
                     observation_chars: int = 1200) -> list[dict[str, Any]]:
    """The messages the backend received for ``request`` (built by the prompt's own
    :func:`~agentrt.prompts.build_messages` from the run's system prompt). ``native``: the
    backend answered in its own format (default: read from the run's system prompt);
    ``observation_chars``: the agent's ``AgentConfig.observation_chars``."""
    return build_messages(request.request, system=result.system,
                          observation_chars=observation_chars,
                          native=_is_native(result, native),
                          demonstration=result.demonstration)


class StepRecord(BaseModel):
    """One model step of a verified run: the training example of ``agentrt finetune``
    (format ``agentrt.step/1``; the fields are documented in :mod:`agentrt.synth`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal["agentrt.step/1"] = "agentrt.step/1"
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]]
    reply: dict[str, Any]
    kind: Literal["call", "answer"]
    tool_call_format: ToolCallFormat = "json"
    step: int = Field(ge=0)
    steps: int = Field(ge=1)
    node: int
    request: int
    repair: bool = False
    provenance: dict[str, Any] = Field(default_factory=dict)


def _reply(node: Node, native: bool) -> dict[str, Any]:
    if node.kind == "answer" and native:
        return {"role": "assistant", "content": node.answer or ""}
    return _step_message(node)


def step_records(result: RunResult, *, native: bool | None = None,
                 tool_call_format: ToolCallFormat | None = None,
                 observation_chars: int = 1200,
                 provenance: Mapping[str, Any] | None = None) -> list[StepRecord]:
    """One record per model step on the solved path of ``result`` (``[]`` for an unsolved
    run): the messages of the request that produced the step, the tools offered, the step as
    the assistant's reply. ``tools`` is the run's offered list (``RunResult.tools``: equal to
    what the backend got unless ``strict_tools`` was on, or a retrieved toolset grew with the
    tools used on the path)."""
    if result.status != "solved" or not result.path:
        return []
    nodes = result.tree.index()
    last = nodes.get(result.path[-1])
    if last is None or last.kind != "answer":
        return []
    native = _is_native(result, native)
    fmt: ToolCallFormat = tool_call_format or ("native" if native else "json")
    by_node = {c.id: r for r in replay_requests(result) for c in r.candidates}
    chain = [nodes[i] for i in result.path[1:] if i in nodes]
    records = []
    for index, node in enumerate(chain):
        replayed = by_node.get(node.id)
        if replayed is None:  # not rebuilt: the tree is not one this search made
            return []
        records.append(StepRecord(
            messages=request_messages(result, replayed, native=native,
                                      observation_chars=observation_chars),
            tools=list(result.tools), reply=_reply(node, native),
            kind="answer" if node.kind == "answer" else "call", tool_call_format=fmt,
            step=index, steps=len(chain), node=node.id, request=replayed.number,
            repair=bool(replayed.request.feedback),
            provenance={"query": result.query, **dict(provenance or {})}))
    return records


def export_steps(results: Iterable[RunResult], dest: str | Path | IO[str], *,
                 native: bool | None = None, observation_chars: int = 1200,
                 secrets: Iterable[str] = ()) -> int:
    """Write :func:`step_records` of every solved run to ``dest`` as JSONL; return how many."""
    return _write((r.model_dump(mode="json") for res in results
                   for r in step_records(res, native=native,
                                         observation_chars=observation_chars)),
                  dest, secrets)
