"""Test doubles shipped with the package: a scripted backend that plays given steps and records
every request, helpers to write steps tersely, and ``serve_in_thread`` for real-socket tests.

```python
backend = ScriptedBackend([call("searchFlights", origin="LHR"), answer("Booked: ABC123")])
```
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from agentrt.backends.base import Candidate, Capabilities, Message, Sampling
from agentrt.errors import BackendError
from agentrt.protocol import maybe_await
from agentrt.servers import serve_in_thread

__all__ = [
    "ScriptedBackend",
    "ScriptedRequest",
    "answer",
    "call",
    "call_raw",
    "give_up",
    "serve_in_thread",
    "unparseable",
]

Responder = Callable[[Sequence[Message], Sequence[dict[str, Any]], int], Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class ScriptedRequest:
    """One ``propose`` call as the backend received it."""

    messages: list[Message]
    tools: list[dict[str, Any]]
    n: int
    constraint: dict[str, Any] | None = None
    sampling: Sampling | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def tool_names(self) -> list[str]:
        return [t.get("function", t).get("name", "") for t in self.tools]

    @property
    def text(self) -> str:
        """All message contents joined (handy for asserting on what the model was told)."""
        return "\n".join(str(m.get("content") or "") for m in self.messages)


def call(name: str, thought: str = "", /, **arguments: Any) -> Candidate:
    """A candidate calling ``name(**arguments)``."""
    return Candidate.from_call(name, dict(arguments), thought=thought)


def call_raw(name: str, arguments: dict[str, Any] | str, thought: str = "") -> Candidate:
    """A candidate calling ``name`` with arguments given as a dict or a raw (bad) string."""
    return Candidate.from_call(name, arguments, thought=thought)


def answer(text: str, thought: str = "") -> Candidate:
    """A ``finish(give_answer)`` candidate."""
    return Candidate(kind="answer", answer=text, thought=thought)


def give_up(thought: str = "") -> Candidate:
    """A ``finish(give_up_and_restart)`` candidate."""
    return Candidate(kind="give_up", thought=thought)


def unparseable(raw: str = "I think I should", error: str = "no JSON step found") -> Candidate:
    """A reply the backend could not read as a step."""
    return Candidate(kind="unparseable", raw=raw, error=error)


class ScriptedBackend:
    """A :class:`~agentrt.backends.base.Backend` that plays ``steps`` in order.

    Each ``propose`` takes the next entry: a ``Candidate``, a list of candidates (for ``n > 1``;
    cut to ``n``), a callable ``(messages, tools, n) -> Candidate | list[Candidate]`` (may be
    async), or an exception (instance or class) to raise. ``steps`` may also be one callable,
    used for every request (concurrent runs that share the backend). Every request is recorded
    in ``requests`` (``record=False``: none are, for a long-lived backend in a benchmark).
    Running out of steps raises :class:`BackendError`.
    """

    def __init__(self, steps: Sequence[Any] | Responder, *, name: str = "scripted",
                 capabilities: Capabilities | None = None, record: bool = True) -> None:
        self.name = name
        self.capabilities = capabilities or Capabilities(native_n=True, grammar=False)
        self._responder: Responder | None = steps if callable(steps) else None
        self._steps: list[Any] = [] if callable(steps) else list(steps)
        self._lock = threading.Lock()
        self.requests: list[ScriptedRequest] = []
        self.record = record
        self.closed = False

    @property
    def remaining(self) -> int:
        """Steps not played yet."""
        return len(self._steps)

    async def propose(self, messages: Sequence[Message], *, tools: Sequence[dict[str, Any]],
                      n: int = 1, sampling: Sampling | None = None,
                      constraint: dict[str, Any] | None = None) -> list[Candidate]:
        """Record the request and play the next step."""
        with self._lock:
            if self.record:
                self.requests.append(ScriptedRequest(
                    messages=[dict(m) for m in messages], tools=list(tools), n=n,
                    constraint=constraint, sampling=sampling))
            if self._responder is not None:
                step: Any = self._responder
            elif self._steps:
                step = self._steps.pop(0)
            else:
                raise BackendError(f"scripted backend ran out of steps at request "
                                   f"{len(self.requests)}", backend=self.name)
        if isinstance(step, BaseException) or (
                isinstance(step, type) and issubclass(step, BaseException)):
            raise step
        if callable(step) and not isinstance(step, Candidate):
            step = await maybe_await(step(list(messages), list(tools), n))
        cands = [step] if isinstance(step, Candidate) else list(step)
        for cand in cands:
            if not isinstance(cand, Candidate):
                raise TypeError(f"scripted step must be a Candidate, got {type(cand).__name__}")
        return cands[: max(n, 1)]

    async def aclose(self) -> None:
        self.closed = True
