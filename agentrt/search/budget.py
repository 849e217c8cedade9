"""Search stage: the limits of one run (model calls, depth in steps, wall time, candidates per
node) and the meter that counts against them.

``Budget`` is a pydantic model so it loads from config files and travels in results; the
``Meter`` is the per-run counter the search consults before every model request and every call.

The defaults fit real multi-step work: a chain of up to 23 calls (booking tasks take 8–18), with
the model requests (twice the depth: room for a repair at every step) and the wall time still
bounding the run. Which limit ended a run is ``RunResult.limit``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field

from agentrt.protocol import BudgetLimit

__all__ = ["Budget", "Meter"]


class Budget(BaseModel):
    """Limits of one run. ``None`` means unlimited (not recommended for ``max_seconds``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: model requests (one request may return k candidates)
    max_model_calls: int | None = Field(default=48, ge=1)
    #: the longest chain, counted in steps (a tool call or the final finish), not in tree
    #: nodes: at most ``max_depth - 1`` calls then an answer; a call proposed at the last step
    #: is not executed (the model is told to finish)
    max_depth: int = Field(default=24, ge=1)
    #: wall-clock seconds for the whole run
    max_seconds: float | None = Field(default=300.0, gt=0)
    #: candidates considered at one node (over all its requests) before the search backs up
    max_candidates_per_node: int = Field(default=9, ge=1)
    #: tool calls executed in the whole run
    max_executed: int | None = Field(default=None, ge=1)


class Meter:
    """Counts one run's use of its :class:`Budget`; ``clock`` is injectable for tests."""

    __slots__ = ("budget", "clock", "executed", "model_calls", "started")

    def __init__(self, budget: Budget, clock: Callable[[], float] = time.monotonic) -> None:
        self.budget = budget
        self.clock = clock
        self.started = clock()
        self.model_calls = 0
        self.executed = 0

    def elapsed(self) -> float:
        return self.clock() - self.started

    def remaining_seconds(self) -> float | None:
        if self.budget.max_seconds is None:
            return None
        return max(0.0, self.budget.max_seconds - self.elapsed())

    def exhausted_before_request(self) -> BudgetLimit | None:
        """The name of the limit that forbids another model request, or ``None``."""
        b = self.budget
        if b.max_model_calls is not None and self.model_calls >= b.max_model_calls:
            return "max_model_calls"
        if b.max_seconds is not None and self.elapsed() >= b.max_seconds:
            return "max_seconds"
        return None

    def exhausted_before_call(self) -> BudgetLimit | None:
        """The name of the limit that forbids executing another tool call, or ``None``."""
        b = self.budget
        if b.max_executed is not None and self.executed >= b.max_executed:
            return "max_executed"
        if b.max_seconds is not None and self.elapsed() >= b.max_seconds:
            return "max_seconds"
        return None
