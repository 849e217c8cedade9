"""Search stage: the search tree as data — one node per proposed step, with its check and outcome.

A node is created for every candidate the model proposes, whether it is executed or not, so the
tree shows everything the search considered: rejected candidates (and why), executed calls (and
their outcomes), answers, give-ups. ``depth`` is counted in *steps*: the root is 0 and every
child is one deeper than its parent; only executed calls get children.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["CheckStatus", "Node", "NodeResult", "call_key"]

CheckStatus = Literal[
    "root",
    "pending",
    "accepted",
    "rejected_hallucinated",  # the tool does not exist
    "rejected_invalid",       # the tool exists, its arguments do not validate
    "rejected_duplicate",     # identical to a call that failed, or to an earlier sibling
    "rejected_unparseable",   # the model's output could not be read as a step
    "rejected_answer",        # an answer the answer check refused
    "skipped",                # not reached: the search ended first
]

NodeResult = Literal[
    "",            # not finished (or never executed)
    "ok",          # executed, observation ok, subtree not explored (search ended first)
    "failed",      # executed, failing outcome: branch pruned
    "dead_end",    # executed ok, but nothing under it led to an answer
    "depth_limit", # pruned at the depth limit
    "solved",      # on the path of the accepted answer
    "gave_up",     # a give_up_and_restart step
]


def call_key(name: str, arguments: Any) -> str:
    """A canonical text for ``name(arguments)``: equal for calls that send the same request."""
    try:
        args = json.dumps(arguments, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                          default=str)
    except (TypeError, ValueError):
        args = repr(arguments)
    return f"{name}:{args}"


# Nodes are filled in while the search runs (outcome, children), hence not frozen; each belongs
# to exactly one run and is never shared between tasks.
@dataclass(slots=True, kw_only=True)
class Node:
    """One step the search considered."""

    id: int
    parent: int | None
    depth: int
    kind: str = "root"  # root | call | answer | give_up | unparseable
    thought: str = ""
    tool: str | None = None
    arguments: Any = None
    answer: str | None = None
    raw: str = ""
    status: CheckStatus = "pending"
    violations: list[dict[str, Any]] = field(default_factory=list)
    #: why a rejected answer / duplicate was refused, in words
    reason: str = ""
    #: the observation of an executed call (``Observation.to_dict()``)
    observation: dict[str, Any] | None = None
    outcome: str | None = None
    result: NodeResult = ""
    side_effect: str | None = None
    #: which model request produced it (1-based) and its index among that request's samples
    request: int = 0
    sample: int = 0
    elapsed: float = 0.0
    children: list[Node] = field(default_factory=list)

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

    def to_dict(self) -> dict[str, Any]:
        """The node and its subtree as plain JSON-able data (empty fields left out)."""
        d: dict[str, Any] = {"id": self.id, "parent": self.parent, "depth": self.depth,
                             "kind": self.kind, "status": self.status}
        optional: dict[str, Any] = {
            "thought": self.thought, "tool": self.tool, "answer": self.answer,
            "reason": self.reason, "outcome": self.outcome, "result": self.result,
            "side_effect": self.side_effect, "raw": self.raw if self.kind == "unparseable" else "",
        }
        d.update({k: v for k, v in optional.items() if v})
        if self.kind == "call":
            d["arguments"] = self.arguments
        if self.violations:
            d["violations"] = list(self.violations)
        if self.observation is not None:
            d["observation"] = self.observation
        if self.request:
            d["request"] = self.request
            d["sample"] = self.sample
        if self.elapsed:
            d["elapsed"] = round(self.elapsed, 6)
        d["children"] = [c.to_dict() for c in self.children]
        return d
