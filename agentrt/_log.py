"""Base stage: logging for library code — structlog when the application configured it, else
the standard library.

structlog's unconfigured default prints every event, debug included, to stdout. A library must
not do that to an application that never asked for logs, so until ``structlog.configure`` has
been called (by the application, by ``agentrt.logsetup.configure_logging`` in the CLI, or by
``structlog.testing.capture_logs``) events go to the stdlib logger of the same name — silent
below WARNING unless the application configures ``logging``. Secrets are redacted either way.

An event that would not be emitted costs one level check: the logger asks the target whether
the level is enabled before any processor (the redactor among them) runs, and callers that
build expensive fields ask first with :meth:`LazyLogger.is_enabled`.
"""

from __future__ import annotations

import logging
from typing import Any

import structlog

from agentrt.redaction import redact_processor

__all__ = ["LazyLogger", "get_logger"]

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
           "warn": logging.WARNING, "error": logging.ERROR, "exception": logging.ERROR,
           "critical": logging.CRITICAL, "fatal": logging.CRITICAL}


class LazyLogger:
    """Decides per call, so configuring logging after import still takes effect."""

    __slots__ = ("_name", "_std", "_wrapped")

    def __init__(self, name: str) -> None:
        self._name = name
        self._std = logging.getLogger(name)
        self._wrapped: Any = structlog.wrap_logger(
            self._std,
            processors=[redact_processor, structlog.stdlib.render_to_log_kwargs],
            wrapper_class=structlog.stdlib.BoundLogger,
        )

    def _target(self) -> Any:
        if structlog.is_configured():
            return structlog.get_logger(self._name)
        return self._wrapped

    def is_enabled(self, level: str | int) -> bool:
        """Whether an event at ``level`` ("debug", "info", … or a `logging` number) would be
        processed at all. Unknown wrapper classes are assumed to emit everything."""
        number = level if isinstance(level, int) else _LEVELS.get(level.lower(), logging.INFO)
        if not structlog.is_configured():
            return self._std.isEnabledFor(number)
        check = getattr(structlog.get_logger(self._name), "is_enabled_for", None)
        if check is None:
            return True
        try:
            return bool(check(number))
        except Exception:  # a wrapper without a usable level check: let the event through
            return True

    def _log(self, method: str, event: str, args: tuple[Any, ...], kw: dict[str, Any]) -> None:
        if self.is_enabled(_LEVELS[method]):
            getattr(self._target(), method)(event, *args, **kw)

    def debug(self, event: str, *args: Any, **kw: Any) -> None:
        self._log("debug", event, args, kw)

    def info(self, event: str, *args: Any, **kw: Any) -> None:
        self._log("info", event, args, kw)

    def warning(self, event: str, *args: Any, **kw: Any) -> None:
        self._log("warning", event, args, kw)

    def error(self, event: str, *args: Any, **kw: Any) -> None:
        self._log("error", event, args, kw)

    def exception(self, event: str, *args: Any, **kw: Any) -> None:
        self._log("exception", event, args, kw)

    def critical(self, event: str, *args: Any, **kw: Any) -> None:
        self._log("critical", event, args, kw)

    def __getattr__(self, method: str) -> Any:
        return getattr(self._target(), method)


def get_logger(name: str) -> LazyLogger:
    """A logger for library module ``name`` (use instead of ``structlog.get_logger``)."""
    return LazyLogger(name)
