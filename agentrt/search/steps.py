"""Search stage: the values the search exchanges with its callables — what it asks the model
(`StepRequest`), what it knows about a tool (`ToolFacts`), what it reports (`SearchEvent`) and
the callables themselves (`Hooks`).

The search never talks to a backend or the network itself: the `Hooks` it is given do. That
keeps it pure, bounded and testable with plain functions.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from agentrt.protocol import Candidate, EventKind, Outcome, SearchEvent, SideEffect

if TYPE_CHECKING:
    from agentrt.search.result import RunResult
    from agentrt.validation import Violation

__all__ = [
    "EventKind",
    "Feedback",
    "Hooks",
    "ObservationLike",
    "SearchEvent",
    "Step",
    "StepRequest",
    "ToolFacts",
]


class ObservationLike(Protocol):
    """What the search needs of an executor's ``Observation`` (duck-typed, no import)."""

    @property
    def outcome(self) -> Outcome: ...
    @property
    def ok(self) -> bool: ...
    @property
    def status_code(self) -> int | None: ...
    @property
    def message(self) -> str: ...
    @property
    def body(self) -> Any: ...
    def to_dict(self) -> dict[str, Any]: ...
    def to_model_text(self, limit: int = 2000) -> str: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """One executed step on the current path (what the model sees as history)."""

    node: int
    thought: str
    tool: str
    arguments: Any
    observation: ObservationLike


FeedbackKind = Literal["rejected", "failed", "dead_end", "answer_rejected", "gave_up", "depth"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Feedback:
    """Something the model should know before its next attempt at this node."""

    kind: FeedbackKind
    text: str
    tool: str | None = None
    arguments: Any = None
    violations: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class StepRequest:
    """A request for ``n`` candidate next steps at ``node`` (``depth`` steps below the root)."""

    query: str
    path: tuple[Step, ...]
    feedback: tuple[Feedback, ...]
    n: int
    node: int
    depth: int
    #: the tool names called on the path (they stay offered when tools are retrieved top-k)
    tools_used: tuple[str, ...] = ()
    #: only an answer may be proposed (the model just proposed a call it already made: what
    #: it needs is on the path); backends with a grammar enforce it, others are not asked
    answer_only: bool = False
    #: only a call may be proposed (an answer was just refused because the request's work is
    #: not done: nothing changed yet, or a value it gives is unused); grammar backends enforce it
    call_only: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolFacts:
    """What the search needs to know about a tool: its side-effect class and compensation."""

    side_effect: SideEffect = "safe"
    compensation: str | None = None


#: (tool name, arguments, observation of the committed call) -> (compensating tool, its
#: arguments, its observation), or None when the tool has no usable compensation.
Compensate = Callable[[str, Any, Any], Awaitable["tuple[str, Any, Any] | None"]]
AnswerCheck = Callable[[str, "RunResult"], "str | Awaitable[str | None] | None"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Hooks:
    """The callables a search runs on. Only ``propose`` and ``execute`` are required."""

    propose: Callable[[StepRequest], Awaitable[Sequence[Candidate]]]
    execute: Callable[[str, Any], Awaitable[Any]]
    check: Callable[[str, Any], Sequence[Violation]] | None = None
    facts: Callable[[str], ToolFacts] | None = None
    compensate: Compensate | None = None
    answer_check: AnswerCheck | None = None
    on_event: Callable[[SearchEvent], Any] | None = None
    #: grounding of a call: (tool, arguments, the path so far) -> ``ungrounded`` violations
    ground: Callable[[str, Any, tuple[Step, ...]], Sequence[Violation]] | None = None
    #: grounding of an answer: (answer, the path so far) -> a note for the model, or None
    ground_answer: Callable[[str, tuple[Step, ...]], str | None] | None = None
    #: whether the request asks for what ``tool`` does (a booking tool for "book me …"): only
    #: such refusals make a stuck run ask the user (:mod:`agentrt.search.ask`); None: all do
    asked_for: Callable[[str], bool] | None = None
    #: whether the path's results hold what the request asks about (a look-up request, its
    #: last step a successful read): the next request is answer-only (``answer_after_lookup``)
    answered: Callable[[tuple[Step, ...]], bool] | None = None
    #: after an answer was refused: whether the refusal says the request's work is not done
    #: (the next request at that node is call-only, ``call_after_unfinished``)
    call_due: Callable[[], bool] | None = None
