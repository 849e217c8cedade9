"""The library never prints: unconfigured, its debug events go nowhere near stdout."""

from __future__ import annotations

import subprocess
import sys
import textwrap


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
