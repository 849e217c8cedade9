"""Search stage: the search tree as data — one node per proposed step, with its check and outcome.

A node is created for every candidate the model proposes, whether it is executed or not, so the
tree shows everything the search considered: rejected candidates (and why), executed calls (and
their outcomes), answers, give-ups. ``depth`` is counted in *steps*: the root is 0 and every
child is one deeper than its parent; only executed calls get children.

The tree is a pydantic model with typed fields: the search fills it in while it runs, the
``RunResult`` carries it, and it round-trips through JSON (fields still at their defaults are
left out of the dump and restored on load).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from agentrt.protocol import (
    CheckStatus,
    NodeKind,
    NodeResult,
    Outcome,
    SideEffect,
    observation_text,
)

__all__ = ["CheckStatus", "Node", "NodeResult", "ObservationRecord", "ViolationRecord",
           "call_key"]


def call_key(name: str, arguments: Any) -> str:
    """A canonical text for ``name(arguments)``: equal for calls that send the same request."""
    try:
        args = json.dumps(arguments, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                          default=str)
    except (TypeError, ValueError):
        args = repr(arguments)
    return f"{name}:{args}"


class ViolationRecord(BaseModel):
    """Why a proposed step was refused before any I/O (``Violation.to_dict()`` as data).

    ``kind``: ``unknown_tool``, ``missing_required``, ``malformed``, ``duplicate_failure``, …
    Keys a newer validator adds are kept (``extra="allow"``).
    """

    model_config = ConfigDict(extra="allow")

    kind: str
    path: str = "$"
    message: str = ""
    suggestions: list[str] = Field(default_factory=list)


class ObservationRecord(BaseModel):
    """How an executed call ended (``Observation.to_dict()`` as data): what the tree keeps, what
    the fine-tuning export shows the model again. Keys a newer executor adds are kept."""

    model_config = ConfigDict(extra="allow")

    tool: str = ""
    arguments: Any = None
    outcome: Outcome
    status_code: int | None = None
    body: Any = None
    truncated: bool = False
    attempts: int = 0
    elapsed: float = 0.0
    violations: list[ViolationRecord] = Field(default_factory=list)
    message: str = ""
    method: str = ""
    url: str = ""
    idempotency_key: str | None = None
    side_effect: SideEffect = "safe"
    #: the compact text the model was shown instead of the JSON body (None: none)
    view: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=False)

    def to_model_text(self, limit: int = 2000) -> str:
        """What the model was shown for this observation (as ``Observation.to_model_text``)."""
        return observation_text(self.model_dump(mode="json"), limit)


#: fields every dumped node carries, default or not
_ALWAYS = frozenset({"id", "parent", "depth", "kind", "status", "children"})
#: no default (a key the dump has that the model's fields have not)
_MISSING = object()


# Nodes are filled in while the search runs (outcome, children), hence not frozen; each belongs
# to exactly one run and is never shared between tasks.
#: each model class's field defaults, computed once (``get_default`` inspects the factory's
#: signature on every call: it was the largest cost of serialising a tree); only compared
_DEFAULTS: dict[type, dict[str, Any]] = {}


def _defaults(cls: type[BaseModel]) -> dict[str, Any]:
    found = _DEFAULTS.get(cls)
    if found is None:
        found = _DEFAULTS[cls] = {name: spec.get_default(call_default_factory=True)
                                  for name, spec in cls.model_fields.items()}
    return found


class Node(BaseModel):
    """One step the search considered (the root is the user's request)."""

    model_config = ConfigDict(extra="forbid")

    id: int = 0
    parent: int | None = None
    depth: int = 0
    kind: NodeKind = "root"
    thought: str = ""
    tool: str | None = None
    arguments: Any = None
    answer: str | None = None
    #: the model's reply, kept for unparseable steps
    raw: str = ""
    status: CheckStatus = "pending"
    violations: list[ViolationRecord] = Field(default_factory=list)
    #: why a rejected answer / duplicate was refused, in words
    reason: str = ""
    #: the observation of an executed call
    observation: ObservationRecord | None = None
    outcome: Outcome | None = None
    result: NodeResult = ""
    side_effect: SideEffect | None = None
    #: which model request produced it (1-based) and its index among that request's samples
    request: int = 0
    sample: int = 0
    #: proposed in answer to a request that allowed only an answer (after a repeat)
    answer_only: bool = False
    elapsed: float = 0.0
    children: list[Node] = Field(default_factory=list)

    @classmethod
    def root(cls) -> Node:
        """The root of a new tree (the user's request)."""
        return cls(id=0, parent=None, depth=0, kind="root", status="root")

    @property
    def executed(self) -> bool:
        return self.observation is not None

    def walk(self) -> list[Node]:
        """This node and all its descendants, depth first."""
        out: list[Node] = []
        stack = [self]
        while stack:
            node = stack.pop()
            out.append(node)
            stack.extend(reversed(node.children))
        return out

    def find(self, node_id: int) -> Node | None:
        for node in self.walk():
            if node.id == node_id:
                return node
        return None

    def index(self) -> dict[int, Node]:
        """Every node of this subtree by id."""
        return {node.id: node for node in self.walk()}

    @model_serializer(mode="wrap")
    def _compact(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # fields at their defaults are left out (they come back on load); a call keeps its
        # arguments even when they are empty
        data: dict[str, Any] = handler(self)
        defaults = _defaults(type(self))
        missing = _MISSING
        call = self.kind == "call"
        return {key: value for key, value in data.items()
                if key in _ALWAYS or (default := defaults.get(key, missing)) is missing
                or value != default or (call and key == "arguments")}

    def to_dict(self) -> dict[str, Any]:
        """The node and its subtree as plain JSON-able data (default fields left out)."""
        return self.model_dump(mode="json")
