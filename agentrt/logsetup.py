"""Base stage (called by the interfaces): structlog set up for people or machines, secrets
redacted.

The library itself only logs through ``agentrt._log``; nothing is configured on import.
The CLI (or an embedding service that wants our defaults) calls :func:`configure_logging`.
Secrets are removed by :func:`agentrt.redaction.redact_processor` (every credential any
executor in the process uses, values under credential-like keys, plus ``secrets`` given here),
and the standard-library loggers of our dependencies (httpx, uvicorn) go through the same
renderer.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import Any, TextIO

import structlog

from agentrt.redaction import DEFAULT_REDACTOR, redact_processor

__all__ = ["configure_logging"]

_HANDLER_NAME = "agentrt"


class _Stderr:
    """Writes to whatever ``sys.stderr`` is at the time (it may be replaced after setup, e.g.
    by a test runner's capture), so a configuration never holds on to a closed stream."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


def configure_logging(*, level: str = "warning", json: bool | None = None,
                      stream: TextIO | None = None, secrets: Iterable[str] = ()) -> None:
    """Readable console output on a terminal, JSON lines otherwise (or when ``json=True``).

    ``level``: debug, info, warning, error. Calling it again replaces the earlier setup.
    """
    DEFAULT_REDACTOR.add(*[s for s in secrets if s])
    out: Any = stream if stream is not None else _Stderr()
    tty = bool(getattr(out, "isatty", lambda: False)())
    if json is None:
        json = not tty
    renderer: Any = (structlog.processors.JSONRenderer() if json
                     else structlog.dev.ConsoleRenderer(colors=tty))
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        numeric = logging.WARNING
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso"),
        redact_processor,
    ]
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
    # stdlib loggers (httpx, uvicorn, …) through the same processors and renderer
    handler = logging.StreamHandler(out)
    handler.name = _HANDLER_NAME
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer]))
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.name == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
