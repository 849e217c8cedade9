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

Everything that leaves through here is passed through the process-wide secret scrubbing that
the executor registers its credentials in (:mod:`agentrt.redaction`, plus any ``secrets``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any

from agentrt._log import get_logger
from agentrt.protocol import EventKind, SearchEvent, call_message, finish_message, path_messages
from agentrt.redaction import DEFAULT_REDACTOR, Redactor
from agentrt.search.result import RunResult
from agentrt.search.steps import Step
from agentrt.search.tree import Node

__all__ = [
    "export_finetune",
    "finetune_records",
    "log_event",
    "negative_records",
    "read_jsonl",
    "scrub",
    "scrub_result",
    "write_jsonl",
]

_log = get_logger("agentrt.search")
_INFO = frozenset({EventKind.RUN_STARTED, EventKind.ANSWER, EventKind.SIDE_EFFECT,
                   EventKind.COMPENSATED, EventKind.BUDGET_EXHAUSTED, EventKind.RUN_FINISHED})


def log_event(event: SearchEvent) -> None:
    """One structlog event per search step (``search.<kind>``); run-level ones at info."""
    data = {k: v for k, v in event.data.items() if k not in ("stats", "result")}
    method = _log.info if event.kind in _INFO else _log.debug
    method(f"search.{event.kind.value}", node=event.node, **scrub(data))


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
    return [{"role": "system", "content": result.system},
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


def negative_records(result: RunResult, *, observation_chars: int = 1200
                     ) -> list[dict[str, Any]]:
    """Every rejected candidate of the run: its context, the rejected step, why, and (when its
    parent is on the solved path) the step chosen there instead."""
    nodes = result.tree.index()
    on_path = set(result.path) if result.status == "solved" else set()
    out: list[dict[str, Any]] = []
    for node in sorted(nodes.values(), key=lambda n: n.id):
        if not node.status.startswith("rejected_") or node.parent is None:
            continue
        record: dict[str, Any] = {
            "messages": _prefix(result, nodes, node.parent, observation_chars),
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
