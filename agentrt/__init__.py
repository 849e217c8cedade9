"""agentrt — a tool-using agent runtime for local models.

A planner drives a local language model; every API call it proposes is checked against the
OpenAPI description of that API before anything is sent; a depth-first search over reasoning
chains backs out of hallucinated, invalid or failing branches. This module is the one public
entry point (the facade above every stage).

The names are resolved on first use (a module ``__getattr__``), so ``import agentrt`` — and
``agentrt --help`` — does not pay for httpx, jsonschema or the backends until a name that needs
them is touched. Type checkers see ordinary imports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentrt._lazy import attach
from agentrt.errors import AgentRTError, BackendError, ConfigError, ExecutionError, SpecError

if TYPE_CHECKING:
    from agentrt.agent import Agent, AgentConfig
    from agentrt.backends import Backend, Sampling, load_backend
    from agentrt.executor import Credentials, Executor, Observation, Policy
    from agentrt.openapi import Spec, load_spec
    from agentrt.protocol import Candidate, EventKind, ToolCall
    from agentrt.retrying import RetryPolicy
    from agentrt.search import Budget, RunResult, SearchConfig, SearchEvent
    from agentrt.toolset import Tool, Toolset
    from agentrt.validation import Violation

__version__ = "0.1.0"

__all__ = [
    "Agent",
    "AgentConfig",
    "AgentRTError",
    "Backend",
    "BackendError",
    "Budget",
    "Candidate",
    "ConfigError",
    "Credentials",
    "EventKind",
    "ExecutionError",
    "Executor",
    "Observation",
    "Policy",
    "RetryPolicy",
    "RunResult",
    "Sampling",
    "SearchConfig",
    "SearchEvent",
    "Spec",
    "SpecError",
    "Tool",
    "ToolCall",
    "Toolset",
    "Violation",
    "__version__",
    "load_backend",
    "load_spec",
]

#: public name → the module it lives in (imported on first access)
_LAZY: dict[str, str] = {
    "Agent": "agentrt.agent",
    "AgentConfig": "agentrt.agent",
    "Backend": "agentrt.backends",
    "Budget": "agentrt.search",
    "Candidate": "agentrt.protocol",
    "Credentials": "agentrt.executor",
    "EventKind": "agentrt.protocol",
    "Executor": "agentrt.executor",
    "Observation": "agentrt.executor",
    "Policy": "agentrt.executor",
    "RetryPolicy": "agentrt.retrying",
    "RunResult": "agentrt.search",
    "Sampling": "agentrt.backends",
    "SearchConfig": "agentrt.search",
    "SearchEvent": "agentrt.search",
    "Spec": "agentrt.openapi",
    "Tool": "agentrt.toolset",
    "ToolCall": "agentrt.protocol",
    "Toolset": "agentrt.toolset",
    "Violation": "agentrt.validation",
    "load_backend": "agentrt.backends",
    "load_spec": "agentrt.openapi",
}


__getattr__, __dir__ = attach(__name__, _LAZY, __all__)
