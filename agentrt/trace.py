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

Everything that leaves through here is passed through the executor's secret scrubbing
(:func:`agentrt.executor.redact.scrub`, plus any ``secrets`` given).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any

from agentrt._log import get_logger
from agentrt.search.result import RunResult
from agentrt.search.steps import SearchEvent

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
_INFO = frozenset({"run_started", "answer", "side_effect", "compensated", "budget_exhausted",
                   "run_finished"})


def log_event(event: SearchEvent) -> None:
    """One structlog event per search step (``search.<kind>``); run-level ones at info."""
    data = {k: v for k, v in event.data.items() if k not in ("stats", "result")}
    method = _log.info if event.kind in _INFO else _log.debug
    method(f"search.{event.kind}", node=event.node, **scrub(data))


def scrub(value: Any, secrets: Iterable[str] = ()) -> Any:
    """``value`` without any secret the executor knows of (and without ``secrets``)."""
    try:
        from agentrt.executor.redact import DEFAULT_REDACTOR, Redactor
    except ImportError:  # pragma: no cover - the executor ships with the package
        return value
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
def _nodes(tree: Mapping[str, Any]) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    stack = [dict(tree)]
    while stack:
        node = stack.pop()
        out[int(node["id"])] = node
        stack.extend(node.get("children") or ())
    return out


def _observation_text(obs: Mapping[str, Any], limit: int) -> str:
    """The text the model was shown for an observation (as ``Observation.to_model_text``)."""
    head: dict[str, Any] = {"outcome": obs.get("outcome")}
    for src, dst in (("status_code", "status"), ("message", "message")):
        if obs.get(src) not in (None, ""):
            head[dst] = obs[src]
    if obs.get("violations"):
        head["violations"] = [v.get("message", v) if isinstance(v, Mapping) else v
                              for v in obs["violations"]]
    if obs.get("body") is not None:
        head["body"] = obs["body"]
    if obs.get("truncated"):
        head["note"] = "response body was trimmed"
    text = json.dumps(head, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 20] + " …[trimmed]"


def _step_message(node: Mapping[str, Any]) -> dict[str, Any]:
    """The assistant turn that proposed ``node`` (a tool call, or a finish call)."""
    if node.get("kind") == "call":
        name, args = node.get("tool"), node.get("arguments")
    elif node.get("kind") == "answer":
        name, args = "finish", {"return_type": "give_answer", "final_answer": node.get("answer")}
    elif node.get("kind") == "give_up":
        name, args = "finish", {"return_type": "give_up_and_restart"}
    else:
        return {"role": "assistant", "content": node.get("raw") or ""}
    text = args if isinstance(args, str) else json.dumps(args, ensure_ascii=False, default=str)
    return {"role": "assistant", "content": node.get("thought") or None, "tool_calls": [
        {"id": f"call_{node['id']}", "type": "function",
         "function": {"name": name, "arguments": text}}]}


def _prefix(result: RunResult, nodes: Mapping[int, Mapping[str, Any]], upto: int,
            observation_chars: int) -> list[dict[str, Any]]:
    """system + user + the executed steps from the root down to node ``upto`` (included)."""
    chain: list[Mapping[str, Any]] = []
    cur: int | None = upto
    while cur is not None and cur in nodes:
        if nodes[cur].get("kind") == "call":
            chain.append(nodes[cur])
        cur = nodes[cur].get("parent")
    messages: list[dict[str, Any]] = [{"role": "system", "content": result.system},
                                      {"role": "user", "content": result.query}]
    for node in reversed(chain):
        messages.append(_step_message(node))
        messages.append({"role": "tool", "tool_call_id": f"call_{node['id']}",
                         "content": _observation_text(node.get("observation") or {},
                                                      observation_chars)})
    return messages


def finetune_records(result: RunResult, *, observation_chars: int = 1200
                     ) -> list[dict[str, Any]]:
    """The solved run's path as one OpenAI chat transcript (``[]`` for an unsolved run)."""
    if result.status != "solved" or not result.path:
        return []
    nodes = _nodes(result.tree)
    last = nodes.get(result.path[-1])
    if last is None or last.get("kind") != "answer":
        return []
    messages = _prefix(result, nodes, int(last["parent"]), observation_chars)
    messages.append(_step_message(last))
    return [{"messages": messages, "tools": result.tools}]


def negative_records(result: RunResult, *, observation_chars: int = 1200
                     ) -> list[dict[str, Any]]:
    """Every rejected candidate of the run: its context, the rejected step, why, and (when its
    parent is on the solved path) the step chosen there instead."""
    nodes = _nodes(result.tree)
    on_path = set(result.path) if result.status == "solved" else set()
    out: list[dict[str, Any]] = []
    for node in sorted(nodes.values(), key=lambda n: int(n["id"])):
        status = str(node.get("status", ""))
        if not status.startswith("rejected_"):
            continue
        parent = int(node["parent"])
        record: dict[str, Any] = {
            "messages": _prefix(result, nodes, parent, observation_chars),
            "tools": result.tools,
            "rejected": _step_message(node),
            "status": status,
            "violations": node.get("violations") or [],
        }
        if node.get("reason"):
            record["reason"] = node["reason"]
        chosen = next((c for c in nodes[parent].get("children") or ()
                       if c["id"] in on_path), None) if parent in nodes else None
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
