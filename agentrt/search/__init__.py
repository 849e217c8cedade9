"""Search stage: depth-first search over reasoning chains (``dfs``) and the ToolBench baselines
(``dfsdt``, ``react``), pure and bounded: it takes callables (:class:`Hooks`) and limits
(:class:`Budget`), never a backend or an HTTP client."""

from agentrt.search.baselines import dfsdt, react
from agentrt.search.budget import Budget
from agentrt.search.config import Mode, SearchConfig
from agentrt.search.dfs import dfs
from agentrt.search.engine import run_search
from agentrt.search.result import CallRecord, RunResult, RunStatus, SideEffectRecord
from agentrt.search.steps import (
    EventKind,
    Feedback,
    Hooks,
    SearchEvent,
    Step,
    StepRequest,
    ToolFacts,
)
from agentrt.search.tree import Node, ObservationRecord, ViolationRecord, call_key

__all__ = [
    "Budget",
    "CallRecord",
    "EventKind",
    "Feedback",
    "Hooks",
    "Mode",
    "Node",
    "ObservationRecord",
    "RunResult",
    "RunStatus",
    "SearchConfig",
    "SearchEvent",
    "SideEffectRecord",
    "Step",
    "StepRequest",
    "ToolFacts",
    "ViolationRecord",
    "call_key",
    "dfs",
    "dfsdt",
    "react",
    "run_search",
]
