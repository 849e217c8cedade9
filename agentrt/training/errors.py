"""Training stage: the errors of ``agentrt finetune``, on the tree of :mod:`agentrt.errors`.

```
ConfigError
├── TrainExtraMissing   torch / transformers / peft / gguf not installed (names the extra)
└── DataError           a training-data line that is broken or foreign (.path, .line, .reason)
AgentRTError
└── TrainingError       a run that failed (out of memory, …); .checkpoint: the last usable one
```
"""

from __future__ import annotations

from agentrt.errors import AgentRTError, ConfigError

__all__ = ["EXTRA_HINT", "DataError", "TrainExtraMissing", "TrainingError", "require"]

EXTRA_HINT = "pip install 'agentrt[train]'"


class TrainExtraMissing(ConfigError):
    """The training extra (torch, transformers, peft, gguf) is not installed."""

    def __init__(self, module: str) -> None:
        self.module = module
        super().__init__(f"agentrt finetune needs the training extra ({module} is missing): "
                         f"{EXTRA_HINT}")


class DataError(ConfigError):
    """A line of a training-data file that cannot be used; ``line`` is 1-based (0: the file)."""

    def __init__(self, reason: str, *, path: str = "", line: int = 0) -> None:
        self.reason = reason
        self.path = path
        self.line = line
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {reason}" if where else reason)


class TrainingError(AgentRTError):
    """A training run that stopped; ``checkpoint`` is the last complete checkpoint (or None)."""

    def __init__(self, message: str, *, checkpoint: str | None = None) -> None:
        self.checkpoint = checkpoint
        super().__init__(message + (f"; the last checkpoint is {checkpoint} (resume with "
                                    "--resume)" if checkpoint else ""))


def require(*modules: str) -> None:
    """Raise :class:`TrainExtraMissing` for the first of ``modules`` that cannot be imported."""
    import importlib.util

    for module in modules:
        if importlib.util.find_spec(module) is None:
            raise TrainExtraMissing(module)
