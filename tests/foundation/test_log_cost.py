"""Redaction and logging cost nothing when nothing is emitted: an event below the level in force
is neither built nor scrubbed; when it is emitted, it is scrubbed (once per value)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import structlog
from structlog.testing import capture_logs

from agentrt._log import get_logger
from agentrt.executor import Executor
from agentrt.protocol import EventKind, SearchEvent
from agentrt.redaction import DEFAULT_REDACTOR, REDACTED, Redactor
from agentrt.toolset import Toolset
from agentrt.trace import log_event

SPEC: dict[str, Any] = {
    "openapi": "3.1.0", "info": {"title": "t", "version": "1"},
    "servers": [{"url": "http://api.test"}],
    "components": {"securitySchemes": {"key": {"type": "apiKey", "in": "header",
                                               "name": "X-Key"}}},
    "security": [{"key": []}],
    "paths": {"/items/{id}": {"get": {
        "operationId": "get_item",
        "parameters": [{"name": "id", "in": "path", "required": True,
                        "schema": {"type": "string"}}],
        "responses": {"200": {"description": "ok"}}}}},
}


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    """Counts every Redactor.scrub / scrub_text / processor call, whichever instance."""
    counts = {"scrub": 0, "scrub_text": 0, "processor": 0}
    scrub, scrub_text, call = Redactor.scrub, Redactor.scrub_text, Redactor.__call__

    def counting_scrub(self: Redactor, value: Any) -> Any:
        counts["scrub"] += 1
        return scrub(self, value)

    def counting_text(self: Redactor, text: str) -> str:
        counts["scrub_text"] += 1
        return scrub_text(self, text)

    def counting_call(self: Redactor, *args: Any) -> Any:
        counts["processor"] += 1
        return call(self, *args)

    monkeypatch.setattr(Redactor, "scrub", counting_scrub)
    monkeypatch.setattr(Redactor, "scrub_text", counting_text)
    monkeypatch.setattr(Redactor, "__call__", counting_call)
    yield counts


@pytest.fixture
def unconfigured(monkeypatch: pytest.MonkeyPatch) -> None:
    """structlog as an application that never configured it leaves it; stdlib at WARNING."""
    monkeypatch.setattr(structlog._config._CONFIG, "is_configured", False)
    logging.getLogger("agentrt").setLevel(logging.WARNING)


def event(kind: EventKind = EventKind.CANDIDATE_REJECTED) -> SearchEvent:
    return SearchEvent(kind=kind, node=3, data={"tool": "get_item", "violations": ["bad"],
                                                "api_key": "k-123456"})


def test_a_search_event_nothing_emits_is_not_scrubbed(counted, unconfigured) -> None:
    for _ in range(100):
        log_event(event())
        log_event(event(EventKind.RUN_STARTED))  # info: below WARNING too
    assert counted == {"scrub": 0, "scrub_text": 0, "processor": 0}


def test_an_emitted_search_event_is_scrubbed(counted) -> None:
    with capture_logs() as logs:
        log_event(event())
    assert logs[0]["event"] == "search.candidate_rejected" and logs[0]["api_key"] == REDACTED
    assert counted["scrub"] >= 1


def test_the_lazy_logger_checks_the_level_first(counted, unconfigured) -> None:
    log = get_logger("agentrt.test")
    assert not log.is_enabled("debug") and not log.is_enabled("info")
    assert log.is_enabled("warning")
    log.debug("quiet", password="p-123456")
    log.info("quiet", password="p-123456")
    assert counted["processor"] == 0
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    try:
        assert not log.is_enabled("warning") and log.is_enabled("error")
    finally:
        structlog.reset_defaults()


def test_an_executor_call_does_not_scrub_for_silent_logs(counted, unconfigured) -> None:
    async def go() -> Any:
        ts = Toolset.from_spec(SPEC)
        transport = httpx.MockTransport(lambda r: httpx.Response(200, json={"id": "1"}))
        async with Executor(ts, transport=transport, credentials={"key": "key-9876543"}) as ex:
            for i in range(20):
                obs = await ex.execute("get_item", {"id": str(i)})
        return obs

    import asyncio

    obs = asyncio.run(go())
    assert obs.outcome == "ok"
    assert counted["processor"] == 0
    # what the observation itself needs: arguments, body (scrub) and the url (scrub_text)
    assert counted["scrub"] == 40 and counted["scrub_text"] == 20


def test_clean_values_are_returned_as_they_are() -> None:
    red = Redactor(["tok-abcdef-123"], parent=None)
    clean = {"flights": [{"id": "AF1", "seats": 3}] * 50}
    assert red.scrub(clean) is clean
    dirty = {"note": "your tok-abcdef-123", "Api-Key": "x"}
    assert red.scrub(dirty) == {"note": f"your {REDACTED}", "Api-Key": REDACTED}
    assert red.clean_text('{"a": "b"}') and not red.clean_text('{"client_secret": 1}')
    assert not DEFAULT_REDACTOR.clean_text("Bearer xyz")
