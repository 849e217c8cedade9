"""Stand-ins for the search's path steps, shared by the grounding tests: what a run's
grounding reads of a step (``node``, ``tool``, ``arguments``, an observation with ``ok``,
``body`` and ``side_effect``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Obs:
    body: Any
    side_effect: str = "safe"
    ok: bool = True


@dataclass
class Step:
    node: int
    tool: str
    observation: Any
    arguments: Any = None
