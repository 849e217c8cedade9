"""Search stage: the baselines, ToolBench's ``dfsdt`` and ``react``, on the same engine as ``dfs``.

* ``dfsdt`` — ToolBench's DFSDT: siblings are sampled by separate sequential requests (one
  sibling, explore it, back up, ask for the next with the earlier ones listed); calls are not
  validated before execution (a hallucinated or invalid call is sent to the executor, which
  refuses it with outcome ``rejected``: counted as ``executed_invalid`` and shown to the model as
  ToolBench shows its errors); failed calls are neither remembered nor deduplicated; API errors
  never prune: the chain goes on; backing up only on ``give_up_and_restart`` and the depth limit.
* ``react`` — one chain, one candidate per step, no validation, no backtracking: a give-up or a
  dead end ends the run.

The side-effect rules of :mod:`agentrt.search.dfs` hold here too: they are the runtime's, not the
search's. An answer check, when given, applies in every mode.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from agentrt.search.budget import Budget
from agentrt.search.config import SearchConfig
from agentrt.search.engine import run_search
from agentrt.search.result import RunResult
from agentrt.search.steps import Hooks

__all__ = ["dfsdt", "react"]


async def dfsdt(query: str, hooks: Hooks, *, k: int = 2, budget: Budget | None = None,
                clock: Callable[[], float] = time.monotonic) -> RunResult:
    """ToolBench's DFSDT with tree width ``k``."""
    return await run_search(query, hooks, config=SearchConfig.dfsdt(k), budget=budget,
                            clock=clock)


async def react(query: str, hooks: Hooks, *, budget: Budget | None = None,
                clock: Callable[[], float] = time.monotonic) -> RunResult:
    """ReAct: one chain, no backtracking."""
    return await run_search(query, hooks, config=SearchConfig.react(), budget=budget,
                            clock=clock)
