"""Trace stage: demonstrations from experience — a JSONL store of solved runs, retrieval of the
solved run most similar to a new request (same toolset, never the same request), and its
rendering as a compact worked example shown before the request.

```python
store = DemonstrationStore.open("demonstrations.jsonl")
demo = store.best("Book the cheapest flight from OPO to FRA on 2026-12-20 ...", tool_names)
messages = build_messages(request, system=system_prompt("Today is 2026-11-25."),
                          demonstration=demonstration_text(demo))
```

A line of the store is one solved run in the trace export's transcript format — the
``messages`` of :func:`agentrt.trace.finetune_records` (the request, the executed calls and
their results, the final step), without the system turn and the tool schemas, which every run
of a toolset shares — plus the toolset's fingerprint (:func:`toolset_key`: its sorted tool
names) and where it came from. :meth:`DemonstrationStore.open` also reads the other formats
the trace writes: fine-tuning transcripts (``{"messages", "tools"}``), ``RunResult`` lines
(:func:`agentrt.trace.write_jsonl`) and per-step records (``agentrt.step/1``, the run's answer
step carries the whole transcript).

Retrieval is BM25 (``bm25s``) over the request texts of the runs for the same toolset; dates,
numbers and e-mail addresses are masked so that "the same kind of request on another day"
matches best. The request itself is never its own example. The example is a second system
message, after the rules (and, in a chat template, after the tools): the long prefix of rules
and tools stays the same for every request of every run, the example is constant within a
run, so llama.cpp and vLLM reuse nearly the whole prompt.

The user's own store (:func:`user_store`, ``$AGENTRT_HOME`` or ``~/.cache/agentrt``) is filled
by ``agentrt run/repl/demo --remember``: the agent gets better with use on the user's APIs.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentrt.errors import ConfigError
from agentrt.protocol import FINISH
from agentrt.search.result import RunResult
from agentrt.trace import finetune_records, scrub

__all__ = [
    "DEMO_FORMAT",
    "Demonstration",
    "DemonstrationStore",
    "demonstration_for",
    "demonstration_messages",
    "demonstration_text",
    "normalize_request",
    "record_run",
    "toolset_key",
    "user_store",
]

DEMO_FORMAT = "agentrt.demo/1"
_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_NUMBER = re.compile(r"\b\d+(?:[.,]\d+)?\b")
_WORD = re.compile(r"[a-z0-9_<>]+")
_STOP = frozenset({"a", "an", "the", "to", "of", "for", "and", "or", "in", "on", "at", "by",
                   "with", "me", "my", "i", "please", "is", "it", "this", "that", "be"})


def toolset_key(tool_names: Iterable[str]) -> str:
    """The fingerprint of a toolset: its sorted tool names (``finish`` aside), hashed."""
    names = sorted({n for n in tool_names if n and n != FINISH})
    return hashlib.sha256("\n".join(names).encode()).hexdigest()[:16]


def normalize_request(text: str) -> str:
    """A request with dates, e-mail addresses and numbers masked, case and spacing folded: two
    requests that differ only there are "the same request"."""
    text = _DATE.sub("<date>", text)
    text = _EMAIL.sub("<email>", text)
    text = _NUMBER.sub("<n>", text)
    return " ".join(text.lower().split())


def _tokens(text: str) -> list[str]:
    return [w for w in _WORD.findall(normalize_request(text)) if w not in _STOP] or ["_"]


class Demonstration(BaseModel):
    """One solved run: the request, the transcript (OpenAI chat turns from the user's request
    to the final step) and the toolset it was solved with."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: str = DEMO_FORMAT
    query: str
    #: :func:`toolset_key` of the toolset the run had
    toolset: str
    #: user turn, then assistant tool calls and tool results, then the final answer turn
    messages: list[dict[str, Any]]
    answer: str
    source: dict[str, Any] = Field(default_factory=dict)

    @property
    def calls(self) -> list[tuple[str, Any, str]]:
        """The executed calls, in order: (tool, arguments, result text)."""
        results = {m.get("tool_call_id"): str(m.get("content") or "")
                   for m in self.messages if m.get("role") == "tool"}
        out = []
        for m in self.messages:
            for call in m.get("tool_calls") or ():
                fn = call.get("function") or {}
                if fn.get("name") == FINISH:
                    continue
                args = fn.get("arguments")
                with contextlib.suppress(ValueError):
                    args = json.loads(args) if isinstance(args, str) else args
                out.append((str(fn.get("name")), args, results.get(call.get("id"), "")))
        return out

    @classmethod
    def from_result(cls, result: RunResult, tool_names: Iterable[str] | None = None, *,
                    source: Mapping[str, Any] | None = None) -> Demonstration | None:
        """The demonstration a solved run makes (None for an unsolved one). ``tool_names``:
        the whole toolset the run had (default: the tools it was offered)."""
        records = finetune_records(result)
        if not records:
            return None
        names = list(tool_names) if tool_names is not None else [
            (t.get("function") or t).get("name", "") for t in result.tools]
        messages = [m for m in records[0]["messages"] if m.get("role") != "system"]
        return cls(query=result.query, toolset=toolset_key(names), messages=messages,
                   answer=result.answer or "", source=dict(source or {}))


def _answer_of(messages: Sequence[Mapping[str, Any]]) -> str:
    last = messages[-1] if messages else {}
    for call in last.get("tool_calls") or ():
        fn = call.get("function") or {}
        if fn.get("name") == FINISH:
            try:
                args = json.loads(fn.get("arguments") or "{}")
            except ValueError:
                return ""
            return str(args.get("final_answer") or "")
    return str(last.get("content") or "")


def _parse_line(data: Mapping[str, Any], toolset: str | None) -> Demonstration | None:
    """A line of any format the trace writes, as a demonstration (None: not a solved run)."""
    if data.get("format") == DEMO_FORMAT:
        return Demonstration.model_validate(data)
    if data.get("format") == "agentrt.step/1":  # the answer step holds the whole transcript
        if data.get("kind") != "answer" or data.get("step") != data.get("steps", 0) - 1:
            return None
        messages = [*data["messages"], data["reply"]]
        names = [(t.get("function") or t).get("name", "") for t in data.get("tools", ())]
        transcript = [m for m in messages if m.get("role") != "system"]
        query = next((str(m.get("content")) for m in transcript if m.get("role") == "user"), "")
        # the notes of a repaired answer step are not part of the worked example
        transcript = [m for i, m in enumerate(transcript)
                      if not (m.get("role") == "user" and i > 0)]
        return Demonstration(query=query, toolset=toolset or toolset_key(names),
                             messages=transcript, answer=_answer_of(transcript),
                             source=dict(data.get("provenance") or {}))
    if "tree" in data and "query" in data:
        return Demonstration.from_result(RunResult.model_validate(data))
    if "messages" in data and "tools" in data:
        names = [(t.get("function") or t).get("name", "") for t in data["tools"]]
        transcript = [m for m in data["messages"] if m.get("role") != "system"]
        query = next((str(m.get("content")) for m in transcript if m.get("role") == "user"), "")
        return Demonstration(query=query, toolset=toolset or toolset_key(names),
                             messages=transcript, answer=_answer_of(transcript))
    raise ValueError("not a demonstration, transcript, run result or step record")


@dataclass(frozen=True, slots=True, kw_only=True)
class _Index:
    demos: tuple[Demonstration, ...]
    bm25: Any


class DemonstrationStore:
    """Solved runs, searchable by request. :meth:`open` caches one store per file (reloaded
    when the file changes), so agents may open it per run."""

    _cache: ClassVar[dict[str, tuple[float, int, DemonstrationStore]]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, demos: Iterable[Demonstration] = (), *, path: Path | None = None) -> None:
        self.path = path
        self.demos: list[Demonstration] = list(demos)
        self._index: dict[str, _Index] = {}

    def __len__(self) -> int:
        return len(self.demos)

    @classmethod
    def load(cls, path: str | Path) -> DemonstrationStore:
        """Read a store (a missing file is an empty store; a broken line a ConfigError with
        its line number)."""
        path = Path(path).expanduser()
        demos: list[Demonstration] = []
        if path.exists():
            with open(path, encoding="utf-8") as fh:
                for n, line in enumerate(fh, 1):
                    if not line.strip():
                        continue
                    try:
                        demo = _parse_line(json.loads(line), None)
                    except (ValueError, ValidationError, KeyError, TypeError, AttributeError
                            ) as exc:
                        raise ConfigError(f"{path}:{n}: not a demonstration: "
                                          f"{str(exc).splitlines()[0]}") from None
                    if demo is not None:
                        demos.append(demo)
        return cls(demos, path=path)

    @classmethod
    def open(cls, path: str | Path) -> DemonstrationStore:
        """:meth:`load`, cached per file and reloaded when the file's size or time changes."""
        path = Path(path).expanduser()
        try:
            stat = path.stat()
            stamp = (stat.st_mtime, stat.st_size)
        except OSError:
            stamp = (0.0, -1)
        key = str(path.resolve())
        with cls._lock:
            hit = cls._cache.get(key)
            if hit is not None and hit[:2] == stamp:
                return hit[2]
        store = cls.load(path)
        with cls._lock:
            cls._cache[key] = (*stamp, store)
        return store

    def add(self, demo: Demonstration) -> None:
        """Add a demonstration (in memory; :func:`record_run` appends to a file)."""
        self.demos.append(demo)
        self._index.pop(demo.toolset, None)

    def _for(self, toolset: str) -> _Index | None:
        if toolset not in self._index:
            demos = tuple(d for d in self.demos if d.toolset == toolset)
            if not demos:
                return None
            import bm25s  # a dependency; imported when a store is first searched

            bm25: Any = bm25s.BM25()
            bm25.index([_tokens(d.query) for d in demos], show_progress=False)
            self._index[toolset] = _Index(demos=demos, bm25=bm25)
        return self._index.get(toolset)

    def search(self, query: str, tool_names: Iterable[str], k: int = 1) -> list[Demonstration]:
        """The ``k`` solved runs of this toolset most similar to ``query``, best first; never
        one whose request is ``query`` itself (compared after :func:`normalize_request`)."""
        index = self._for(toolset_key(tool_names))
        if index is None or k <= 0:
            return []
        own = normalize_request(query)
        # ask for one more per copy of the request itself, which is dropped
        extra = sum(1 for d in index.demos if normalize_request(d.query) == own)
        want = min(len(index.demos), k + extra)
        idx, scores = index.bm25.retrieve([_tokens(query)], k=want, show_progress=False)
        out = []
        for i, score in zip(idx[0], scores[0], strict=True):
            demo = index.demos[int(i)]
            if normalize_request(demo.query) == own or float(score) <= 0:
                continue
            out.append(demo)
        return out[:k]

    def best(self, query: str, tool_names: Iterable[str]) -> Demonstration | None:
        """The most similar solved run for this toolset, or None."""
        found = self.search(query, tool_names, k=1)
        return found[0] if found else None


def user_store() -> Path:
    """The user's demonstrations file: ``$AGENTRT_HOME/demonstrations.jsonl``, else
    ``~/.cache/agentrt/demonstrations.jsonl``."""
    home = os.environ.get("AGENTRT_HOME")
    base = Path(home).expanduser() if home else Path.home() / ".cache" / "agentrt"
    return base / "demonstrations.jsonl"


def record_run(result: RunResult, tool_names: Iterable[str], path: str | Path | None = None,
               *, source: Mapping[str, Any] | None = None,
               secrets: Iterable[str] = ()) -> bool:
    """Append a solved run that made at least one call to the store at ``path`` (default:
    :func:`user_store`); return whether it was recorded. Secrets are scrubbed first."""
    if result.status != "solved" or not any(c.on_path and c.outcome == "ok"
                                            for c in result.calls):
        return False
    demo = Demonstration.from_result(result, tool_names, source=source)
    if demo is None:
        return False
    dest = Path(path).expanduser() if path is not None else user_store()
    dest.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(scrub(demo.model_dump(mode="json"), secrets), ensure_ascii=False)
    with open(dest, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")
    return True


# -- rendering -----------------------------------------------------------------------------------
def _compact(value: Any, items: int = 2) -> Any:
    """A result body with long lists cut to their first ``items`` (and how many more)."""
    if isinstance(value, list):
        head = [_compact(v, items) for v in value[:items]]
        return head + ([f"... {len(value) - items} more"] if len(value) > items else [])
    if isinstance(value, dict):
        return {k: _compact(v, items) for k, v in value.items()}
    return value


def _result_text(text: str, limit: int) -> str:
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        text = json.dumps(_compact(data), ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def demonstration_text(demo: Demonstration, *, native: bool = False,
                       result_chars: int = 360) -> str:
    """The worked example shown before the request: the request, each call with (a compact
    form of) its result, and the final answer — as a ``finish`` call, or for ``native``
    models as the plain-text reply it is in their format."""
    lines = ["A solved example of a similar request (another user's: its ids, dates, names and "
             "prices are not yours; look up your own with the tools):",
             f"User: {demo.query}"]
    for i, (tool, args, result) in enumerate(demo.calls, 1):
        arguments = json.dumps(args, ensure_ascii=False, sort_keys=True, default=str) \
            if not isinstance(args, str) else args
        lines.append(f"Step {i}: {tool}({arguments})")
        lines.append(f"Result: {_result_text(result, result_chars)}")
    if native:
        lines.append(f"Reply to the user (plain text, no tool call): {demo.answer}")
    else:
        final = json.dumps({"return_type": "give_answer", "final_answer": demo.answer},
                           ensure_ascii=False)
        lines.append(f"Step {len(demo.calls) + 1}: {FINISH}({final})")
    return "\n".join(lines)


def demonstration_messages(demo: Demonstration, *, native: bool = False
                           ) -> list[dict[str, Any]]:
    """The example as chat turns (user, calls and results, the final turn) for callers that
    place demonstrations as messages; for ``native`` models the final turn is plain text."""
    messages = [dict(m) for m in demo.messages]
    if native and messages and any(
            (c.get("function") or {}).get("name") == FINISH
            for c in messages[-1].get("tool_calls") or ()):
        messages[-1] = {"role": "assistant", "content": demo.answer}
    return messages


def demonstration_for(store: str | Path | DemonstrationStore, query: str,
                      tool_names: Iterable[str], *, native: bool = False) -> str | None:
    """The worked-example text for ``query`` from ``store`` (a path or a store), or None when
    the store holds no solved run for this toolset."""
    if not isinstance(store, DemonstrationStore):
        store = DemonstrationStore.open(store)
    demo = store.best(query, tool_names)
    return demonstration_text(demo, native=native) if demo is not None else None
