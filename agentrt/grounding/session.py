"""Grounding stage: one run's grounding — the hooks the search calls for calls and answers,
and the compact text of observations — over the provenance of the current path.

The search hands each hook the path of executed steps (anything with ``node``, ``tool`` and an
``observation`` that has ``ok`` and ``body``). Ledgers are built incrementally and cached per
path prefix, so a sibling or a child costs one observation's indexing, not the whole path's.
Only successful observations ground values: an error body quotes the bad value back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agentrt.grounding.answers import check_answer
from agentrt.grounding.check import check_arguments
from agentrt.grounding.identifiers import GroundingPlan, read_spec_grounding
from agentrt.grounding.provenance import Provenance
from agentrt.grounding.render import RenderOptions, render_observation
from agentrt.toolset import Toolset
from agentrt.validation import Violation

__all__ = ["RunGrounding", "plan_for"]


def plan_for(toolset: Toolset, *, strict: bool = False) -> GroundingPlan:
    """The grounding plan of a toolset: links and ``x-agentrt-grounded`` marks read from each
    spec's document, inference where the spec is silent. ``strict``: a link naming an unknown
    operation or parameter raises :class:`~agentrt.errors.SpecError` with its pointer."""
    specs = [read_spec_grounding(spec.document, source=spec.source, strict=strict)
             for spec in toolset.specs if spec.document]
    return GroundingPlan(toolset.tools, specs)


class RunGrounding:
    """The grounding of one run of ``query`` over ``toolset`` (see the module docstring)."""

    def __init__(self, query: str, toolset: Toolset, plan: GroundingPlan, *,
                 render: RenderOptions | None = None) -> None:
        self.query = query
        self.toolset = toolset
        self.plan = plan
        self.render_options = render or RenderOptions()
        self._root = Provenance.from_request(query)
        self._ledgers: dict[tuple[int, ...], Provenance] = {(): self._root}

    def ledger(self, path: Sequence[Any]) -> Provenance:
        """The provenance of values on ``path`` (the request plus its ok observations)."""
        key = tuple(step.node for step in path)
        cached = self._ledgers.get(key)
        if cached is not None:
            return cached
        parent = self.ledger(path[:-1])
        last = path[-1]
        obs = last.observation
        ledger = (parent.with_observation(last.tool, getattr(obs, "body", None), node=last.node)
                  if getattr(obs, "ok", False) else parent)
        self._ledgers[key] = ledger
        return ledger

    def _tool(self, name: str) -> Any:
        return self.toolset.get(name)

    # -- the search's hooks ---------------------------------------------------------------------
    def ground_call(self, tool: str, arguments: Any, path: Sequence[Any]) -> list[Violation]:
        """``ungrounded`` violations of ``tool(arguments)`` after ``path`` ([] when grounded)."""
        if tool not in self.toolset or not isinstance(arguments, Mapping):
            return []
        return check_arguments(self._tool(tool), arguments, self.ledger(path), plan=self.plan)

    def ground_answer(self, answer: str, path: Sequence[Any]) -> str | None:
        """A note for the model when ``answer`` states facts found nowhere, else None."""
        made = sum(1 for step in path if getattr(step.observation, "ok", False))
        verdict = check_answer(answer, self.query, self.ledger(path), made_calls=made)
        return None if verdict.accepted else verdict.note

    # -- observations ---------------------------------------------------------------------------
    def view(self, tool: str, body: Any) -> str | None:
        """The compact text of a successful response body (None: show it as JSON)."""
        if body is None or tool not in self.toolset:
            return None
        return render_observation(body, self._tool(tool).response_schema,
                                  options=self.render_options)
