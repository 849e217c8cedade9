"""Backends stage: the one small async protocol every model backend implements.

A backend turns a conversation (OpenAI chat messages), the tools on offer and an optional
grammar constraint into up to ``n`` candidate *steps*. A step is a short thought plus either a
tool call or a ``finish`` (give an answer / give up and restart). Malformed model output is a
candidate of kind ``"unparseable"``, never an exception; a dead or slow model server raises
:class:`agentrt.errors.BackendError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

# the step types live in the protocol module; re-exported here, where backends look for them
from agentrt.protocol import FINISH as FINISH
from agentrt.protocol import FINISH_TOOL as FINISH_TOOL
from agentrt.protocol import Candidate as Candidate
from agentrt.protocol import CandidateKind as CandidateKind
from agentrt.protocol import ToolCall as ToolCall

Message = dict[str, Any]
"""One chat message in OpenAI format (``role``, ``content``, optional ``tool_calls`` …)."""


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
    #: how tool calls come back: "openai" (tool_calls field), "json" (a JSON step object),
    #: "native" (the model's own chat-template format: ``<tool_call>`` or plain-text answers)
    tool_call_format: str = "openai"
    #: results may be shown as compact text (what small models read best); False: the
    #: backend reads tool results as JSON (e.g. a scripted double that quotes their fields)
    compact_observations: bool = True


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
