"""agentrt — a tool-using agent runtime for local models.

A planner drives a local language model; every API call it proposes is checked against the
OpenAPI description of that API before anything is sent; a depth-first search over reasoning
chains backs out of hallucinated, invalid or failing branches. This module is the one public
entry point.
"""

from agentrt.agent import Agent
from agentrt.backends import Backend, Candidate, Sampling, ToolCall, load_backend
from agentrt.errors import (
    AgentRTError,
    BackendError,
    BudgetExceeded,
    ConfigError,
    ExecutionError,
    PolicyError,
    SpecError,
)
from agentrt.executor import Credentials, Executor, Observation, Policy, RetryPolicy
from agentrt.search import Budget, RunResult, SearchConfig, SearchEvent
from agentrt.openapi import Spec, load_spec
from agentrt.toolset import Tool, Toolset
from agentrt.validation import Violation

__version__ = "0.1.0"

__all__ = [
    "Agent",
    "AgentRTError",
    "Backend",
    "BackendError",
    "Budget",
    "BudgetExceeded",
    "Candidate",
    "ConfigError",
    "Credentials",
    "ExecutionError",
    "Executor",
    "Observation",
    "Policy",
    "PolicyError",
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
