"""Search stage: the bookkeeping of one run — counters, timings, executed calls, side effects —
and the assembly of the :class:`RunResult` from it and the tree.
"""

from __future__ import annotations

from typing import Any

from agentrt.protocol import BudgetLimit, RunStatus
from agentrt.search.config import Mode
from agentrt.search.result import CallRecord, RunResult, SideEffectRecord
from agentrt.search.steps import ObservationLike
from agentrt.search.tree import Node

__all__ = ["STAT_KEYS", "Ledger"]

#: counters every result carries (0 when nothing happened)
STAT_KEYS = (
    "model_calls", "candidates",
    "hallucinated", "invalid",  # proposed, whatever became of them
    "ungrounded",  # proposed with an identifier from nowhere, whatever became of them
    "rejected_hallucinated", "rejected_invalid", "rejected_duplicate", "rejected_unparseable",
    "rejected_ungrounded", "answers_rejected", "answers_rejected_ungrounded",
    "repeat_dead_ends",  # nodes given up because the model only proposed repeats
    "answer_only_requests",  # requests allowing only an answer (after a repeat, a denial)
    "answer_after_lookup",  # of those, asked because a read held what the request asks about
    "call_only_requests",  # requests allowing only a call (after an answer left work undone)
    "executed", "executed_ok", "executed_failed", "executed_invalid", "executed_ungrounded",
    "compensations",
)


class Ledger:
    """Everything one run has counted and done; turns into a ``RunResult`` at any moment."""

    def __init__(self, mode: Mode, query: str, root: Node) -> None:
        self.mode, self.query, self.root = mode, query, root
        self.stats: dict[str, Any] = dict.fromkeys(STAT_KEYS, 0)
        self.timings: dict[str, float] = {"model": 0.0, "tools": 0.0, "check": 0.0}
        self.calls: list[CallRecord] = []
        self.observations: dict[int, ObservationLike] = {}
        self.side_effects: list[SideEffectRecord] = []
        self.denied = False
        self.depth_pruned = False
        self.answer_node: Node | None = None

    def record_call(self, node: Node, obs: ObservationLike, *, invalid: bool,
                    ungrounded: bool = False) -> None:
        self.observations[node.id] = obs
        self.stats["executed"] += 1
        self.stats["executed_ok" if obs.ok else "executed_failed"] += 1
        if invalid:
            self.stats["executed_invalid"] += 1
        if ungrounded:
            self.stats["executed_ungrounded"] += 1
        if obs.outcome == "denied":
            self.denied = True
        self.calls.append(CallRecord(
            node=node.id, tool=node.tool or "", arguments=node.arguments, outcome=obs.outcome,
            status_code=obs.status_code, message=obs.message or "",
            elapsed=node.elapsed, attempts=getattr(obs, "attempts", 0) or 0,
            side_effect=node.side_effect or "safe"))

    def record_side_effect(self, node: Node, obs: ObservationLike) -> SideEffectRecord | None:
        """Note an unsafe call that happened (ok) or may have happened (lost)."""
        if obs.outcome not in ("ok", "lost"):
            return None
        record = SideEffectRecord(
            node=node.id, tool=node.tool or "", arguments=node.arguments,
            state="committed" if obs.ok else "lost", status_code=obs.status_code,
            body=obs.body, idempotency_key=getattr(obs, "idempotency_key", None))
        self.side_effects.append(record)
        return record

    def live_commits(self, node_ids: set[int]) -> list[SideEffectRecord]:
        return [r for r in self.side_effects if r.state == "committed" and r.node in node_ids]

    def record_compensation(self, record: SideEffectRecord, tool: str, arguments: Any,
                            obs: ObservationLike) -> None:
        record.state = "compensated" if obs.ok else "compensation_failed"
        record.backed_up_past = True
        record.compensation = {"tool": tool, "arguments": arguments, "outcome": obs.outcome,
                               "status_code": obs.status_code, "message": obs.message or ""}
        self.stats["compensations"] += 1
        self.calls.append(CallRecord(
            node=record.node, tool=tool, arguments=arguments, outcome=obs.outcome,
            status_code=obs.status_code, message=obs.message or "",
            attempts=getattr(obs, "attempts", 0) or 0,
            side_effect=getattr(obs, "side_effect", "idempotent"), compensation=True))

    def _path(self, end: Node | None, nodes: list[Node] | None = None) -> list[int]:
        nodes = self.root.walk() if nodes is None else nodes
        if end is None:  # best partial: the deepest chain of successful calls
            ok = [n for n in nodes if n.executed and n.outcome == "ok"]
            end = max(ok, key=lambda n: n.depth, default=None)
        if end is None:
            return [self.root.id]
        parents = {n.id: n.parent for n in nodes}
        path: list[int] = []
        cur: int | None = end.id
        while cur is not None:
            path.append(cur)
            cur = parents.get(cur)
        return path[::-1]

    def result(self, *, status: RunStatus, answer_node: Node | None, elapsed: float,
               reason: str = "", limit: BudgetLimit | None = None,
               snapshot: bool = False) -> RunResult:
        """The run as a result; ``snapshot``: mid-run, for the answer check (the tree is copied,
        the search goes on changing its own)."""
        nodes = self.root.walk()  # once: the path and the counts read the same nodes
        path = self._path(answer_node, nodes)
        on_path = set(path)
        stats = dict(self.stats)
        stats["nodes"] = len(nodes)
        stats["max_depth"] = max((n.depth for n in nodes if n.executed), default=0)
        timings = {k: round(v, 6) for k, v in self.timings.items()}
        timings["total"] = round(elapsed, 6)
        calls = [c.model_copy(update={"on_path": c.node in on_path and not c.compensation})
                 for c in self.calls]
        effects = [r.model_copy(update={"backed_up_past": r.backed_up_past or status != "solved"
                                        or r.node not in on_path}) for r in self.side_effects]
        return RunResult(
            query=self.query, answer=answer_node.answer if answer_node else None,
            status=status, mode=self.mode, reason=reason, limit=limit, calls=calls, stats=stats,
            timings=timings, tree=self.root.model_copy(deep=True) if snapshot else self.root,
            path=path, side_effects=effects)
