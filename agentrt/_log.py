"""Base stage: logging for library code — structlog when the application configured it, else
the standard library.

structlog's unconfigured default prints every event, debug included, to stdout. A library must
not do that to an application that never asked for logs, so until ``structlog.configure`` has
been called (by the application, by ``agentrt.logsetup.configure_logging`` in the CLI, or by
``structlog.testing.capture_logs``) events go to the stdlib logger of the same name — silent
below WARNING unless the application configures ``logging``. Secrets are redacted either way.
"""

from __future__ import annotations

import logging
from typing import Any

import structlog

from agentrt.redaction import redact_processor

__all__ = ["get_logger"]


class _LazyLogger:
    """Decides per call, so configuring logging after import still takes effect."""

    def __init__(self, name: str) -> None:
        self._name = name

    def _target(self) -> Any:
        if structlog.is_configured():
            return structlog.get_logger(self._name)
        return structlog.wrap_logger(
            logging.getLogger(self._name),
            processors=[redact_processor, structlog.stdlib.render_to_log_kwargs],
            wrapper_class=structlog.stdlib.BoundLogger,
        )

    def __getattr__(self, method: str) -> Any:
        return getattr(self._target(), method)


def get_logger(name: str) -> Any:
    """A logger for library module ``name`` (use instead of ``structlog.get_logger``)."""
    return _LazyLogger(name)
