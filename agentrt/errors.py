"""Base stage: the error tree of agentrt — our failures are raised, the model's mistakes are
observations.

```
AgentRTError
├── SpecError            a spec that cannot be loaded or is invalid (.source, .pointer, .reason)
├── BackendError         the model server is unreachable, slow, or answers garbage
│   │                    (.backend, .status_code)
│   └── LlamaCrashError  llama.cpp died in the probe child (.signal; agentrt.backends.llama_runtime)
├── ExecutionError       transport trouble the search cannot recover from
│   └── AuthError        credentials could not be obtained (agentrt.executor.AuthError)
├── TrainingError        a fine-tuning run failed (agentrt.training)
└── ConfigError          a bad setting: an unknown model string, a missing extra, a bad option
    │                    (a malformed policy value included)
    ├── TrainExtraMissing  agentrt finetune without the train extra (agentrt.training)
    └── DataError        a training record that is broken or foreign (.path, .line)
```

Invalid or hallucinated calls and 4xx/5xx responses are *not* exceptions: they become
observations that prune a branch of the search and are shown to the model. The same holds for
the run's limits: a call the policy forbids is a ``denied`` observation, and a run that hits a
budget ends with status ``out_of_budget`` (and the limit that ended it) in its ``RunResult``,
not with an exception.
"""

from __future__ import annotations

__all__ = [
    "AgentRTError",
    "BackendError",
    "ConfigError",
    "ExecutionError",
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


class ConfigError(AgentRTError):
    """A bad setting: unknown model string, missing optional extra, invalid option."""
