"""Backends stage: the one small async protocol every model backend implements.

A backend turns a conversation (OpenAI chat messages), the tools on offer and an optional
grammar constraint into up to ``n`` candidate *steps*. A step is a short thought plus either a
tool call or a ``finish`` (give an answer / give up and restart). Malformed model output is a
candidate of kind ``"unparseable"``, never an exception; a dead or slow model server raises
:class:`agentrt.errors.BackendError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

Message = dict[str, Any]
"""One chat message in OpenAI format (``role``, ``content``, optional ``tool_calls`` …)."""

CandidateKind = Literal["call", "answer", "give_up", "unparseable"]

#: The name of the pseudo-tool a model calls to end a chain (ToolBench's ``Finish``).
FINISH = "finish"

#: The ``finish`` pseudo-tool, in OpenAI tools format.
FINISH_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": FINISH,
        "description": (
            "Call this when you are done. return_type 'give_answer' with final_answer for the "
            "user when the task is solved (or cannot be solved, saying why); "
            "'give_up_and_restart' when this line of work is stuck and another approach is needed."
        ),
        "parameters": {
            "type": "object",
            "properties": {
                "return_type": {"type": "string", "enum": ["give_answer", "give_up_and_restart"]},
                "final_answer": {"type": "string"},
            },
            "required": ["return_type"],
            "additionalProperties": False,
        },
    },
}


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolCall:
    """A call as the model proposed it. ``arguments`` is a dict once parsed and repaired, or
    the raw string when it could not be parsed (validation then reports it)."""

    name: str
    arguments: dict[str, Any] | str
    id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Candidate:
    """One proposed step."""

    kind: CandidateKind
    thought: str = ""
    call: ToolCall | None = None
    answer: str | None = None
    raw: str = ""
    error: str | None = None
    #: backend-specific facts: finish_reason, tokens used, seed, where the call was parsed from
    meta: dict[str, Any] = field(default_factory=dict)

    @staticmethod
    def from_call(name: str, arguments: dict[str, Any] | str, *, thought: str = "",
                  raw: str = "", call_id: str | None = None,
                  meta: dict[str, Any] | None = None) -> Candidate:
        """A candidate for ``name(arguments)``; a ``finish`` call becomes answer/give_up."""
        meta = dict(meta or {})
        if name == FINISH:
            args = arguments if isinstance(arguments, dict) else {}
            if args.get("return_type") == "give_up_and_restart":
                return Candidate(kind="give_up", thought=thought, raw=raw, meta=meta)
            answer = args.get("final_answer")
            if isinstance(arguments, dict) and isinstance(answer, str):
                return Candidate(kind="answer", thought=thought, answer=answer, raw=raw, meta=meta)
            return Candidate(kind="unparseable", thought=thought, raw=raw, meta=meta,
                             error="finish needs return_type 'give_answer' with a final_answer "
                                   "string, or 'give_up_and_restart'")
        return Candidate(kind="call", thought=thought, raw=raw, meta=meta,
                         call=ToolCall(name=name, arguments=arguments, id=call_id))


@dataclass(frozen=True, slots=True, kw_only=True)
class Sampling:
    """Sampling options for one ``propose`` request."""

    temperature: float = 0.7
    top_p: float = 0.95
    max_tokens: int = 384
    seed: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Capabilities:
    """What a backend can do natively."""

    #: one request returns ``n`` distinct samples (vLLM); otherwise the backend loops
    native_n: bool = False
    #: honours a JSON-Schema constraint (grammar / structured outputs)
    grammar: bool = False
    #: how tool calls come back: "openai" (tool_calls field), "json" (a JSON step object)
    tool_call_format: str = "openai"


@runtime_checkable
class Backend(Protocol):
    """The protocol. Implementations: OpenAI-compatible HTTP (vLLM, llama.cpp server),
    vLLM in-process, embedded llama.cpp, and :class:`agentrt.testing.ScriptedBackend`."""

    name: str
    capabilities: Capabilities

    async def propose(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[dict[str, Any]],
        n: int = 1,
        sampling: Sampling | None = None,
        constraint: dict[str, Any] | None = None,
    ) -> list[Candidate]:
        """Return up to ``n`` candidate steps for the conversation.

        ``tools`` is in OpenAI tools format and already contains :data:`FINISH_TOOL` when the
        caller wants the model to be able to finish. ``constraint`` is a JSON Schema accepting
        exactly one step object ``{"thought": str, "name": <tool>, "arguments": {...}}`` (an
        ``anyOf`` with a branch per tool, see ``Toolset.call_schema``); backends that support
        grammars decode under it, others may ignore it.
        """
        ...

    async def aclose(self) -> None:
        """Release connections / model memory."""
        ...
