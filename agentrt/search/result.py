"""Search stage: the result of one run, as a pydantic model that round-trips through JSON.

It is what ``Agent.run`` returns and what the trace exports read: the answer, how the run ended
(and which budget limit ended it), every executed call with its outcome, the counters, the
timings, the side effects and the whole tree (typed :class:`~agentrt.search.tree.Node` values).
"""

from __future__ import annotations

from typing import Any

import pydantic_core
from pydantic import BaseModel, ConfigDict, Field

from agentrt.protocol import BudgetLimit, Outcome, RunStatus, SideEffect, SideEffectState
from agentrt.search.config import Mode
from agentrt.search.tree import Node

__all__ = ["CallRecord", "RunResult", "RunStatus", "SideEffectRecord"]


class CallRecord(BaseModel):
    """One executed tool call and how it ended."""

    model_config = ConfigDict(extra="forbid")

    node: int
    tool: str
    arguments: Any
    outcome: Outcome
    status_code: int | None = None
    message: str = ""
    elapsed: float = 0.0
    attempts: int = 0
    side_effect: SideEffect = "safe"
    #: True when the call is on the path of the final answer (or of the best partial chain)
    on_path: bool = False
    #: the search's own compensating call (a cancel), not proposed by the model
    compensation: bool = False


class SideEffectRecord(BaseModel):
    """An unsafe call that (may have) changed the world, and what became of it.

    ``state``: ``committed`` (it happened), ``lost`` (sent, answer lost: it may have happened),
    ``compensated`` (the compensating operation undid it), ``compensation_failed``.
    ``backed_up_past``: the search abandoned the branch that made it — the final answer does
    not build on it.
    """

    model_config = ConfigDict(extra="forbid")

    node: int
    tool: str
    arguments: Any
    state: SideEffectState
    status_code: int | None = None
    body: Any = None
    idempotency_key: str | None = None
    backed_up_past: bool = False
    compensation: dict[str, Any] | None = None


class RunResult(BaseModel):
    """The result of ``Agent.run``: see the attribute docs; ``to_json``/``from_json`` round-trip."""

    model_config = ConfigDict(extra="forbid")

    query: str
    answer: str | None = None
    status: RunStatus
    mode: Mode = "dfs"
    #: why the run ended, in words (which limit, what stopped it)
    reason: str = ""
    #: the budget limit that ended the run (then ``status`` is ``out_of_budget``, or
    #: ``refused`` after a denial), else ``None``
    limit: BudgetLimit | None = None
    calls: list[CallRecord] = Field(default_factory=list)
    stats: dict[str, Any] = Field(default_factory=dict)
    timings: dict[str, float] = Field(default_factory=dict)
    #: everything the search considered, from the root (the request) down
    tree: Node = Field(default_factory=Node.root)
    #: node ids of the answer's path (or of the best partial chain), root first
    path: list[int] = Field(default_factory=list)
    side_effects: list[SideEffectRecord] = Field(default_factory=list)
    #: with status ``needs_input``: the argument paths only the user can give (the answer is
    #: the runtime's question for them)
    missing: list[str] = Field(default_factory=list)
    #: the system prompt and the tools offered (OpenAI format): what the fine-tuning export needs
    system: str = ""
    #: the worked example shown after the system prompt (a second system message), if any
    demonstration: str | None = None
    tools: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def solved(self) -> bool:
        return self.status == "solved"

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def to_json(self, **kwargs: Any) -> str:
        return self.model_dump_json(**kwargs)

    @classmethod
    def from_json(cls, text: str | bytes) -> RunResult:
        return cls.model_validate_json(text)

    def scan_text(self, *, exclude: frozenset[str] = frozenset()) -> str:
        """Every value of the result (bar the fields in ``exclude``) as one JSON text, for a
        secret scan (:meth:`agentrt.redaction.Redactor.clean_text`) — not a dump: fields at
        their defaults are kept and the tree is a flat list of nodes (serialising each node's
        own fields is several times cheaper than the compact tree of :meth:`to_json`). Every
        string and every key of the result is in it, so a text without a secret in it means
        a result without one."""
        parts: dict[str, Any] = {key: value for key, value in self.__dict__.items()
                                 if key != "tree" and key not in exclude}
        if "tree" not in exclude:
            parts["tree"] = [{**node.__dict__, "children": None} for node in self.tree.walk()]
        return pydantic_core.to_json(parts).decode()
