"""Logging: nothing is configured by importing the library; configure_logging renders JSON lines
(or console text) with secrets redacted, stdlib loggers included."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys

import structlog

from agentrt.logsetup import configure_logging
from tests.cli.conftest import REPO


def test_importing_the_library_configures_nothing() -> None:
    code = ("import logging, structlog, agentrt, agentrt.agent, agentrt.cli, agentrt.executor, "
            "agentrt.backends, agentrt.evaluation; "
            "print(structlog.is_configured(), len(logging.getLogger().handlers))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, check=True)
    assert out.stdout.split() == ["False", "0"]
    assert out.stderr == ""


def test_json_lines_with_secrets_redacted() -> None:
    stream = io.StringIO()
    configure_logging(level="info", json=True, stream=stream, secrets=["s3cr3t-value"])
    log = structlog.get_logger("agentrt.test")
    log.info("call.sent", url="https://api.example/x?key=s3cr3t-value", authorization="Bearer x")
    log.debug("hidden")  # below the level
    logging.getLogger("httpx").warning("token s3cr3t-value leaked in a stdlib log")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [r["event"] for r in lines] == ["call.sent", "token [REDACTED] leaked in a stdlib log"]
    assert lines[0]["url"] == "https://api.example/x?key=[REDACTED]"
    assert lines[0]["authorization"] == "[REDACTED]"
    assert lines[0]["level"] == "info" and "timestamp" in lines[0]
    assert "s3cr3t-value" not in stream.getvalue()


def test_console_rendering_when_not_json() -> None:
    stream = io.StringIO()
    configure_logging(level="warning", json=False, stream=stream)
    structlog.get_logger().warning("model.slow", seconds=12)
    text = stream.getvalue()
    assert "model.slow" in text and "seconds=12" in text
    assert not text.lstrip().startswith("{")
