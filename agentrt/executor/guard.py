"""Executor stage: the ``guard`` policy's bookkeeping — every call of a run passes through a
:class:`GuardedExecutor`, which traces each argument of a non-safe call to the user's request,
a result, untrusted text or nowhere (:class:`agentrt.grounding.trust.TrustLedger`) and hands
that verdict to the executor's policy for the one call being decided.

```python
async with Executor(toolset, policy="guard") as executor:
    guarded = guard_executor(executor, query=query, toolset=toolset)
    obs = await guarded.execute("create_hotel_booking", arguments)  # cleared, or "denied"
```

Every call's result (safe ones too) is recorded, so a reference read in a review and looked up
with a safe call stays untrusted: the result of a call made with untrusted values is itself
untrusted. Safe calls are never held back. An executor whose policy is not ``guard`` is
returned unchanged by :func:`guard_executor`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from agentrt.executor.policy import GUARD_ASSESSMENT
from agentrt.grounding.trust import Assessment, TrustLedger

if TYPE_CHECKING:
    from agentrt.grounding.identifiers import GroundingPlan
    from agentrt.toolset import Toolset

__all__ = ["GuardedExecutor", "guard_executor"]


class _Executes(Protocol):
    async def execute(self, name: str, arguments: Any, **options: Any) -> Any: ...


class GuardedExecutor:
    """``executor`` with the run's provenance kept for the ``guard`` policy (one per run)."""

    def __init__(self, executor: _Executes, *, query: str, toolset: Toolset,
                 plan: GroundingPlan | None = None) -> None:
        self.executor = executor
        self.toolset = toolset
        self.ledger = TrustLedger(query, toolset, plan)
        #: the verdict on every non-safe call of the run, in order
        self.assessments: list[Assessment] = []

    @property
    def policy(self) -> Any:
        return getattr(self.executor, "policy", None)

    async def execute(self, name: str, arguments: Any, **options: Any) -> Any:
        """``executor.execute(name, arguments)`` with this call's provenance in scope."""
        args = _parsed(arguments)
        tool = self.toolset.get(name)
        assessment: Assessment | None = None
        if tool is not None and tool.side_effect != "safe" and args is not None:
            assessment = self.ledger.assess(name, args)
            self.assessments.append(assessment)
        token = GUARD_ASSESSMENT.set(assessment)
        try:
            obs = await self.executor.execute(name, arguments, **options)
        finally:
            GUARD_ASSESSMENT.reset(token)
        self.ledger.record(name, args if args is not None else {}, getattr(obs, "body", None),
                           ok=bool(getattr(obs, "ok", False)))
        return obs

    def __getattr__(self, name: str) -> Any:  # aclose, base_url_for, … of the wrapped one
        return getattr(self.executor, name)


def guard_executor(executor: Any, *, query: str, toolset: Toolset,
                   plan: GroundingPlan | None = None) -> Any:
    """A :class:`GuardedExecutor` around ``executor`` when its policy is ``guard``; else
    ``executor`` itself (the other policies need no provenance)."""
    if getattr(getattr(executor, "policy", None), "mode", None) != "guard":
        return executor
    return GuardedExecutor(executor, query=query, toolset=toolset, plan=plan)


def _parsed(arguments: Any) -> Mapping[str, Any] | None:
    if isinstance(arguments, Mapping):
        return arguments
    if isinstance(arguments, str):
        try:
            value = json.loads(arguments)
        except ValueError:
            return None
        return value if isinstance(value, Mapping) else None
    return None
