"""Search stage: ``dfs``, agentrt's depth-first search over reasoning chains.

The algorithm (one run; the tree is in :mod:`agentrt.search.tree`)::

    expand(node):                       # node = the root, or an executed, successful call
      if node is max_depth steps deep: prune (depth limit)
      until max_candidates_per_node candidates were considered here:
        ask the model for k candidate next steps in ONE request (n=k), showing it the path so
        far and everything that went wrong at this node (rejections with their violations,
        failed calls, dead ends, refused answers: the "diversity" note)
        check every candidate before any I/O:
          unparseable                                  -> rejected_unparseable
          unknown tool                                 -> rejected_hallucinated
          arguments that do not validate               -> rejected_invalid
          identical to a call that failed in this run,
          to an earlier sibling, to a call already on
          this path (a loop), or to an unsafe call
          already sent in this run                     -> rejected_duplicate
          (rejected candidates are counted and never executed)
        act on the accepted ones in order (give-ups last):
          give_answer -> the answer check (if any); accepted: solved, the run ends
          give_up_and_restart -> back up to the parent (at the root: start again)
          a call -> execute; a failing outcome (4xx, 5xx/timeout after retries, invalid
                    response, lost, denied) prunes it and is remembered; ok -> expand(child);
                    a child that led nowhere is a dead end, the next candidate is tried
      nothing left here: back up

Budgets (:class:`~agentrt.search.budget.Budget`): model requests, depth in steps, wall time,
candidates per node, executed calls. Running out ends the run with status ``out_of_budget`` and
the best partial result (the deepest chain of successful calls is the result's ``path``).

Side effects — the semantics, in every mode (they are the runtime's safety rules, not a
search heuristic):

* Safe and idempotent calls are explored freely; backing up past them costs nothing.
* An unsafe call (POST/PATCH, or marked ``x-agentrt-side-effect: unsafe``) goes through the
  executor, whose policy (allow / deny / confirm) decides. A denied call is a failing
  observation; a run that ends without an answer after a denial has status ``refused``.
* An identical unsafe request (same tool, same arguments) is sent at most once per run,
  whatever became of it: a repeat is ``rejected_duplicate`` and never reaches the network.
* Once an unsafe call has succeeded (committed), the search does not try alternatives to it
  (its siblings, or an ancestor's siblings) speculatively. If everything below a committed call
  leads nowhere, the search may only back up past it by undoing it: when the tool names a
  compensating operation (``x-agentrt-compensation``, e.g. ``cancelBooking``) and
  ``SearchConfig.compensate`` is on, the runtime invokes it (through the executor and its
  policy; arguments are filled from the committed call's response and arguments) and records
  the side effect as ``compensated``. With no compensation, or if it fails, the run stops there
  (status ``gave_up``) instead of booking something else.
* ``RunResult.side_effects`` lists every committed (or ``lost`` — sent, answer lost, may have
  happened) side effect with ``backed_up_past`` set when the final answer does not build on it.

The baselines ``dfsdt`` and ``react`` (:mod:`agentrt.search.baselines`) are the same engine with
ToolBench's behaviours switched on, so comparisons measure the algorithm.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from agentrt.search.budget import Budget
from agentrt.search.config import SearchConfig
from agentrt.search.engine import run_search
from agentrt.search.result import RunResult
from agentrt.search.steps import Hooks

__all__ = ["dfs"]


async def dfs(query: str, hooks: Hooks, *, k: int = 3, budget: Budget | None = None,
              config: SearchConfig | None = None,
              clock: Callable[[], float] = time.monotonic) -> RunResult:
    """Run agentrt's search (``config`` overrides ``k`` when given)."""
    return await run_search(query, hooks, config=config or SearchConfig.dfs(k), budget=budget,
                            clock=clock)
