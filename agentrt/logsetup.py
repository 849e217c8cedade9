"""Logging (interfaces): structlog set up for people or machines, with secrets redacted.

The library itself only calls ``structlog.get_logger()``; nothing is configured on import.
The CLI (or an embedding service that wants our defaults) calls :func:`configure_logging`.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import Any, TextIO

import structlog

__all__ = ["configure_logging"]

_SECRET_KEYS = ("authorization", "api_key", "apikey", "x-api-key", "password", "secret",
                "token", "client_secret", "cookie", "credentials")


def _redactor(secrets: Iterable[str]) -> Any:
    values = [s for s in secrets if s and len(s) >= 4]

    def redact(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
        for key in list(event):
            if any(k in key.lower() for k in _SECRET_KEYS):
                event[key] = "[redacted]"
            elif values and isinstance(event[key], str):
                text = event[key]
                for v in values:
                    text = text.replace(v, "[redacted]")
                event[key] = text
        return event

    return redact


def configure_logging(*, level: str = "warning", json: bool | None = None,
                      stream: TextIO | None = None, secrets: Iterable[str] = ()) -> None:
    """Readable console output on a terminal, JSON lines otherwise (or when ``json=True``)."""
    stream = stream or sys.stderr
    if json is None:
        json = not stream.isatty()
    renderer: Any = (structlog.processors.JSONRenderer() if json
                     else structlog.dev.ConsoleRenderer(colors=stream.isatty()))
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            _redactor(secrets),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )
