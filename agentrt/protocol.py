"""Protocol: the types every stage shares, in one low module that imports nothing from agentrt.

What crosses a stage boundary is a typed value defined here, so a typo fails type-checking
instead of silently dropping an event or mislabelling a call:

* steps — :class:`Candidate` (one proposed step: a :class:`ToolCall`, an answer, a give-up, or
  an unreadable reply) and the ``finish`` pseudo-tool (:data:`FINISH`, :data:`FINISH_TOOL`);
* side effects — :data:`SideEffect` (``safe`` / ``idempotent`` / ``unsafe``) and what became of
  a committed one (:data:`SideEffectState`);
* outcomes — :data:`Outcome`, how one executed call ended (with :data:`NOT_SENT`, :data:`FAILING`);
* the search's vocabulary — node kinds, check statuses, node results, run statuses, the budget
  limit that ended a run (:data:`BudgetLimit`), and the events it reports (:class:`EventKind`,
  :class:`SearchEvent`);
* the transcript — :func:`path_messages` (with :func:`call_message`, :func:`finish_message`,
  :func:`observation_text`):
  the one builder of the OpenAI tool-call turns that the prompts show the model and that the
  fine-tuning export replays from a run's tree;
* :func:`maybe_await` — the one "a callback may be sync or async" helper.

The backends, the toolset, the executor, the search and the interfaces import from here; this
module imports only the standard library.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal, Protocol, TypeVar, cast

__all__ = [
    "CALL_ONLY",
    "FAILING",
    "FINISH",
    "FINISH_TOOL",
    "NOT_SENT",
    "BudgetLimit",
    "Candidate",
    "CandidateKind",
    "CheckStatus",
    "EventKind",
    "NodeKind",
    "NodeResult",
    "Outcome",
    "PolicyMode",
    "ReturnType",
    "RunStatus",
    "SearchEvent",
    "SideEffect",
    "SideEffectState",
    "ToolCall",
    "TranscriptStep",
    "call_message",
    "finish_message",
    "maybe_await",
    "observation_text",
    "path_messages",
]

T = TypeVar("T")

# -- steps ---------------------------------------------------------------------------------------
CandidateKind = Literal["call", "answer", "give_up", "unparseable"]
"""What one proposed step is: a tool call, a final answer, a give-up, or an unreadable reply."""

ReturnType = Literal["give_answer", "give_up_and_restart"]
"""The two ways to call :data:`FINISH` (ToolBench's ``Finish`` return types)."""

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


# -- side effects --------------------------------------------------------------------------------
SideEffect = Literal["safe", "idempotent", "unsafe"]
"""A tool's side-effect class: GET/HEAD ``safe``, PUT/DELETE ``idempotent``, POST/PATCH
``unsafe`` (overridable per operation with ``x-agentrt-side-effect``)."""

PolicyMode = Literal["allow", "deny", "confirm", "guard"]
"""What a run's policy does with a non-safe call: let it out, refuse it, or ask first."""

SideEffectState = Literal["committed", "lost", "compensated", "compensation_failed"]
"""What became of an unsafe call that (may have) happened: ``committed`` (it did), ``lost``
(sent, answer lost: it may have), ``compensated`` (undone), ``compensation_failed``."""

# -- outcomes ------------------------------------------------------------------------------------
Outcome = Literal[
    "ok",               # 2xx and the body matches the spec's response schema
    "client_error",     # 4xx (body kept: it usually says what was wrong)
    "server_error",     # 5xx after retries
    "timeout",          # no answer in time, after retries (request not known to be sent, or safe)
    "transport_error",  # connect refused, DNS, TLS … after retries
    "response_invalid", # 2xx whose body does not match the spec's response schema
    "lost",             # an unsafe request went out and its answer was lost: it may have happened
    "denied",           # the run's policy refused the call (or the person said no)
    "rejected",         # never sent: invalid arguments, unknown tool, or a foreign origin
]
"""How one executed call ended (the executor's ``Observation.outcome``)."""

#: Outcomes after which the call may be assumed to have had no effect on the server.
NOT_SENT: frozenset[Outcome] = frozenset({"denied", "rejected"})
#: Outcomes that count as a failing branch in the search.
FAILING: frozenset[Outcome] = frozenset(
    {"client_error", "server_error", "timeout", "transport_error", "response_invalid", "lost",
     "denied", "rejected"}
)

# -- the search's vocabulary ---------------------------------------------------------------------
NodeKind = Literal["root", "call", "answer", "give_up", "unparseable"]
"""A search-tree node: the root (the user's request) or one proposed step."""

CheckStatus = Literal[
    "root",
    "pending",
    "accepted",
    "rejected_hallucinated",  # the tool does not exist
    "rejected_invalid",       # the tool exists, its arguments do not validate
    "rejected_duplicate",     # identical to a call that failed, or to an earlier sibling
    "rejected_unparseable",   # the model's output could not be read as a step
    "rejected_ungrounded",    # an identifier (or an answer's fact) that came from nowhere
    "rejected_answer",        # an answer the answer check refused
    "skipped",                # not reached: the search ended first
]
"""What the check before any I/O made of a node."""

NodeResult = Literal[
    "",            # not finished (or never executed)
    "ok",          # executed, observation ok, subtree not explored (search ended first)
    "failed",      # executed, failing outcome: branch pruned
    "dead_end",    # executed ok, but nothing under it led to an answer
    "depth_limit", # pruned at the depth limit
    "solved",      # on the path of the accepted answer
    "gave_up",     # a give_up_and_restart step
]
"""What became of a node once the search had tried it."""

RunStatus = Literal["solved", "gave_up", "out_of_budget", "refused", "needs_input"]
"""How a run ended: an accepted answer, nothing left to try, a limit reached, a side effect
the policy refused (and no answer without it), or stuck on values only the user can give (the
answer is the runtime's question for them: :mod:`agentrt.search.ask`)."""

BudgetLimit = Literal["max_model_calls", "max_depth", "max_seconds", "max_executed"]
"""The budget limit that ended a run (``RunResult.limit``)."""


class EventKind(str, Enum):
    """What a :class:`SearchEvent` reports. A ``str`` enum: it compares equal to, formats as
    and serialises to its value (``EventKind.ANSWER == "answer"``)."""

    RUN_STARTED = "run_started"
    #: a model request answered (``n`` asked, ``candidates`` returned, ``accepted``)
    EXPANDED = "expanded"
    CANDIDATE_REJECTED = "candidate_rejected"
    CALL_EXECUTED = "call_executed"
    BACKTRACKED = "backtracked"
    ANSWER_REJECTED = "answer_rejected"
    ANSWER = "answer"
    SIDE_EFFECT = "side_effect"
    COMPENSATED = "compensated"
    BUDGET_EXHAUSTED = "budget_exhausted"
    RUN_FINISHED = "run_finished"

    def __str__(self) -> str:  # the value on every Python version (3.12 changed the default)
        return self.value


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchEvent:
    """One thing that happened during a search, for live display and structured logs.

    ``node`` is the node it concerns (0: the run); ``data`` the details, which depend on
    ``kind`` (see the ``on_event`` emitters in :mod:`agentrt.search.engine`).
    """

    kind: EventKind
    node: int
    data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # a plain string is accepted and checked: an unknown kind raises ValueError here
        # instead of being dropped by a consumer
        object.__setattr__(self, "kind", EventKind(self.kind))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "node": self.node, **self.data}


# -- the transcript ------------------------------------------------------------------------------
class TranscriptStep(Protocol):
    """An executed step as the transcript needs it (``agentrt.search.Step`` is one)."""

    @property
    def node(self) -> int: ...
    @property
    def thought(self) -> str: ...
    @property
    def tool(self) -> str: ...
    @property
    def arguments(self) -> Any: ...
    @property
    def observation(self) -> Any: ...


#: a key of a step constraint: the reply must be a call (the first move of a native-format
#: reply is forced to open one); backends that cannot force it read the constraint as usual
CALL_ONLY = "x-agentrt-call-only"


def call_message(node: int, thought: str, tool: str, arguments: Any) -> dict[str, Any]:
    """The assistant turn proposing ``tool(arguments)`` at search node ``node`` (its call id is
    ``call_<node>``)."""
    args = arguments if isinstance(arguments, str) else json.dumps(
        arguments, ensure_ascii=False, default=str)
    return {"role": "assistant", "content": thought or None, "tool_calls": [
        {"id": f"call_{node}", "type": "function",
         "function": {"name": tool, "arguments": args}}]}


def finish_message(node: int, thought: str, answer: str | None) -> dict[str, Any]:
    """The assistant turn calling :data:`FINISH`: ``give_answer`` with ``answer``, or
    ``give_up_and_restart`` when ``answer`` is None."""
    args: dict[str, Any] = ({"return_type": "give_answer", "final_answer": answer}
                            if answer is not None else {"return_type": "give_up_and_restart"})
    return call_message(node, thought, FINISH, args)


def observation_text(observation: Mapping[str, Any], limit: int = 2000) -> str:
    """What the model is shown of an observation (``Observation.to_dict()``, or the tree's
    record of it): outcome, status, message, violations, (trimmed) body — one line of JSON."""
    view = observation.get("view")
    if isinstance(view, str):  # the compact rendering: a status line, then the text
        status = observation.get("status_code")
        lines = [f"outcome: {observation.get('outcome')}"
                 + (f" (HTTP {status})" if status is not None else "")]
        if observation.get("message"):
            lines.append(f"message: {observation['message']}")
        if observation.get("truncated"):
            lines.append("note: the response was trimmed")
        text = "\n".join([*lines, view])
        return text if len(text) <= limit else text[: limit - 12] + " …[trimmed]"
    head: dict[str, Any] = {"outcome": observation.get("outcome")}
    if observation.get("status_code") is not None:
        head["status"] = observation["status_code"]
    if observation.get("message"):
        head["message"] = observation["message"]
    if observation.get("violations"):
        head["violations"] = [v.get("message", v) if isinstance(v, Mapping) else v
                              for v in observation["violations"]]
    if observation.get("body") is not None:
        head["body"] = observation["body"]
    if observation.get("truncated"):
        head["note"] = "response body was trimmed"
    text = json.dumps(head, ensure_ascii=False, default=str)
    if len(text) > limit:
        text = text[: limit - 20] + " …[trimmed]"
    return text


def _observation_text(observation: Any, limit: int) -> str:
    if hasattr(observation, "to_model_text"):
        return str(observation.to_model_text(limit))
    text = json.dumps(observation, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 12] + " …[trimmed]"


def path_messages(path: Sequence[TranscriptStep], *, observation_chars: int = 1200
                  ) -> list[dict[str, Any]]:
    """The executed steps as OpenAI tool-call turns: each call, then its result as the model
    was shown it (``observation.to_model_text``, trimmed to ``observation_chars``)."""
    messages: list[dict[str, Any]] = []
    for step in path:
        messages.append(call_message(step.node, step.thought, step.tool, step.arguments))
        messages.append({"role": "tool", "tool_call_id": f"call_{step.node}",
                         "content": _observation_text(step.observation, observation_chars)})
    return messages


# -- helpers -------------------------------------------------------------------------------------
async def maybe_await(value: T | Awaitable[T]) -> T:
    """``value``, awaited first when it is awaitable: for callbacks that may be sync or async."""
    if inspect.isawaitable(value):
        return cast(T, await value)
    return cast(T, value)
