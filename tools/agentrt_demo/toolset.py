"""Demo services, agent edge: the one place that builds the agentrt toolset for the demo APIs.

The CLI (``agentrt demo``, ``agentrt repl``), the evaluation and the examples all point an
agent at the two running demo services the same way: the flights and hotels specs merged into
one toolset, and the demo API key for every security scheme those services declare.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentrt_demo.keys import DEMO_API_KEY
from agentrt_demo.specs import spec_path

if TYPE_CHECKING:
    from agentrt.toolset import Toolset

__all__ = ["demo_credentials", "demo_toolset"]


def demo_toolset(flights_url: str, hotels_url: str) -> Toolset:
    """The flights + hotels toolset pointed at running demo services (their base URLs)."""
    from agentrt.toolset import Toolset  # lazy: importing agentrt_demo stays cheap

    return Toolset.merge(Toolset.from_spec(spec_path("flights"), base_url=flights_url),
                         Toolset.from_spec(spec_path("hotels"), base_url=hotels_url))


def demo_credentials(toolset: Toolset, api_key: str = DEMO_API_KEY) -> dict[str, str]:
    """``api_key`` for every security scheme of the toolset's services (scheme name -> key)."""
    return {name: api_key for s in toolset.services for name in s.security_schemes}
