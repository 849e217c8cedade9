"""The error tree of agentrt: our failures are raised, the model's mistakes are observations.

```
AgentRTError
├── SpecError            a spec that cannot be loaded or is invalid (.source, .pointer, .reason)
├── BackendError         the model server is unreachable, slow, or answers garbage (.backend)
├── ExecutionError       transport trouble the search cannot recover from
├── PolicyError          a call the run's policy forbids
├── ConfigError          a bad setting: an unknown model string, a missing extra, a bad option
└── BudgetExceeded       limits reached (.limit, .partial)
```

Invalid or hallucinated calls and 4xx/5xx responses are *not* exceptions: they become
observations that prune a branch of the search and are shown to the model.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AgentRTError",
    "BackendError",
    "BudgetExceeded",
    "ConfigError",
    "ExecutionError",
    "PolicyError",
    "SpecError",
]


class AgentRTError(Exception):
    """Base class of every error agentrt raises."""


class SpecError(AgentRTError):
    """An OpenAPI document that cannot be loaded, parsed, resolved or validated.

    ``source`` names the file, URL or ``<dict>``; ``pointer`` is the JSON pointer of the
    problem inside the document (``#/paths/~1flights/get/parameters/0``), or ``""`` when the
    problem is the document as a whole.
    """

    def __init__(self, reason: str, *, source: str = "<dict>", pointer: str = "") -> None:
        self.reason = reason
        self.source = source
        self.pointer = pointer
        where = f"{source}{pointer}" if pointer.startswith("#") else f"{source} {pointer}".strip()
        super().__init__(f"{where}: {reason}")


class BackendError(AgentRTError):
    """The model backend failed: server down, timeout, wrong model name, garbage protocol."""

    def __init__(self, message: str, *, backend: str = "", status_code: int | None = None) -> None:
        self.backend = backend
        self.status_code = status_code
        super().__init__(message)


class ExecutionError(AgentRTError):
    """Transport trouble the search cannot recover from (e.g. the executor is misconfigured)."""


class PolicyError(AgentRTError):
    """A call the run's policy forbids, raised where an observation cannot carry it."""


class ConfigError(AgentRTError):
    """A bad setting: unknown model string, missing optional extra, invalid option."""


class BudgetExceeded(AgentRTError):
    """A run hit one of its limits; ``partial`` holds the best partial result."""

    def __init__(self, limit: str, *, partial: Any = None) -> None:
        self.limit = limit
        self.partial = partial
        super().__init__(f"budget exceeded: {limit}")
