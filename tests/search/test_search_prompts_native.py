"""Prompts for a backend whose model answers in its own format: plain-text answers, no finish."""

from __future__ import annotations

from agentrt.agent import Agent
from agentrt.backends.base import Capabilities
from agentrt.prompts import SYSTEM_PROMPT_TEXT, build_messages, system_prompt
from agentrt.search import Feedback, StepRequest
from agentrt.testing import ScriptedBackend
from agentrt.toolset import Toolset


def _request(**kw):
    base = {"query": "fly me", "path": (), "feedback": (), "n": 1, "node": 0, "depth": 3}
    return StepRequest(**{**base, **kw})


def test_native_rules_never_mention_finish():
    text = system_prompt("Today is 2026-12-01.", native=True)
    assert text.startswith(SYSTEM_PROMPT_TEXT) and text.endswith("Today is 2026-12-01.")
    assert "finish" not in text and "plain text" in text
    assert "finish" in system_prompt()  # the JSON-step rules still describe the pseudo-tool


def test_native_notes_say_answer_in_text():
    req = _request(feedback=(Feedback(kind="depth", text=""),))
    native = build_messages(req, system="S", native=True)[-1]["content"]
    classic = build_messages(req, system="S")[-1]["content"]
    assert "plain text" in native and "finish" not in native
    assert "call finish" in classic


def test_agent_picks_the_rules_from_the_backend_format():
    spec = {"openapi": "3.1.0", "info": {"title": "t", "version": "1"},
            "servers": [{"url": "http://127.0.0.1:1"}], "paths": {}}
    tools = Toolset.from_spec(spec)
    backend = ScriptedBackend([])
    backend.capabilities = Capabilities(native_n=False, grammar=True,
                                        tool_call_format="native")
    assert Agent(backend, tools).system.startswith(SYSTEM_PROMPT_TEXT)
    assert not Agent(ScriptedBackend([]), tools).system.startswith(SYSTEM_PROMPT_TEXT)
