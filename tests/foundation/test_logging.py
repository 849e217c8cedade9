"""The library never prints: unconfigured, its debug events go nowhere near stdout."""

from __future__ import annotations

import subprocess
import sys
import textwrap

#: until agentrt/executor/redact.py re-exports agentrt.redaction, the executor registers its
#: secrets in a second redactor that logging does not consult


def test_library_is_silent_unless_logging_is_configured() -> None:
    code = textwrap.dedent("""
        import agentrt
        from agentrt._log import get_logger
        from agentrt import Toolset
        log = get_logger("agentrt.test")
        log.debug("debug-event", api_key="canary-secret-123")
        log.info("info-event")
        Toolset.from_spec({"openapi": "3.1.0", "info": {"title": "t", "version": "1"},
                           "paths": {}})
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    assert proc.stdout == ""
    assert "debug-event" not in proc.stderr and "canary-secret-123" not in proc.stderr


def test_configured_structlog_receives_the_events() -> None:
    from structlog.testing import capture_logs

    from agentrt._log import get_logger

    with capture_logs() as logs:
        get_logger("agentrt.test").info("evt", value=1)
    assert logs == [{"event": "evt", "value": 1, "log_level": "info"}]


def test_a_secret_the_executor_knows_is_redacted_from_logs() -> None:
    """Executors register their secrets where logging's redaction processor looks: one
    process-wide redactor (agentrt.redaction), whichever module a stage imports it from."""
    import io
    import logging

    import structlog

    from agentrt._log import get_logger
    from agentrt.executor import DEFAULT_REDACTOR, Redactor
    from agentrt.logsetup import configure_logging

    Redactor(parent=DEFAULT_REDACTOR).add("exec-canary-5150")  # what every Executor does
    config, root = structlog.get_config(), logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream = io.StringIO()
    try:
        configure_logging(level="info", json=True, stream=stream)
        get_logger("agentrt.test").info("call.sent", url="https://api.example/?k=exec-canary-5150")
        logging.getLogger("httpx").warning("GET https://api.example/?k=exec-canary-5150")
    finally:
        structlog.configure(**config)
        root.handlers[:] = handlers
        root.setLevel(level)
    text = stream.getvalue()
    assert "call.sent" in text and "GET https://api.example" in text
    assert "exec-canary-5150" not in text
