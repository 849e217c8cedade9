"""Prompting, the scripted backend, tool retrieval for large toolsets, and the purity of the
search package (no HTTP client, no backend module)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

import agentrt.search
from agentrt.agent import Agent
from agentrt.backends.base import Capabilities
from agentrt.errors import BackendError
from agentrt.prompts import SYSTEM_PROMPT, build_messages, feedback_text, system_prompt
from agentrt.search import Feedback, SearchConfig, Step, StepRequest
from agentrt.testing import ScriptedBackend, answer, call, give_up, unparseable
from agentrt.toolset import Toolset

from .conftest import obs


def request(**kw):
    base = {"query": "fly me", "path": (), "feedback": (), "n": 2, "node": 0, "depth": 0}
    return StepRequest(**{**base, **kw})


def test_messages_layout_and_trimmed_observation():
    big = obs("search_flights", {"origin": "A"}, body={"offers": ["x" * 50] * 200})
    step = Step(node=3, thought="look", tool="search_flights", arguments={"origin": "A"},
                observation=big)
    msgs = build_messages(request(path=(step,)), system="SYS", observation_chars=300)
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "tool"]
    assert msgs[0]["content"] == "SYS" and msgs[1]["content"] == "fly me"
    tc = msgs[2]["tool_calls"][0]
    assert tc["id"] == "call_3" == msgs[3]["tool_call_id"]
    assert json.loads(tc["function"]["arguments"]) == {"origin": "A"}
    assert len(msgs[3]["content"]) <= 300 and "trimmed" in msgs[3]["content"]


def test_feedback_lists_violations_and_failed_attempts():
    fb = (Feedback(kind="rejected", tool="book", arguments={"x": 1}, text="rejected_invalid",
                   violations=("passenger is required",)),
          Feedback(kind="failed", tool="get_offer", arguments={"offer_id": "X"},
                   text="client_error: no such offer"),
          Feedback(kind="answer_rejected", text="mention the reference"))
    text = feedback_text(fb)
    assert "passenger is required" in text
    assert "DIFFERENT action" in text and 'get_offer({"offer_id": "X"})' in text
    assert "mention the reference" in text
    msgs = build_messages(request(feedback=fb))
    assert msgs[-1]["role"] == "user" and msgs[-1]["content"] == text
    assert feedback_text(()) == ""
    assert len(build_messages(request())) == 2     # no empty note


def test_system_prompt_with_instructions():
    assert system_prompt() == SYSTEM_PROMPT
    assert system_prompt("Today is 2026-11-25.").endswith("Today is 2026-11-25.")
    assert "give_up_and_restart" in SYSTEM_PROMPT and "give_answer" in SYSTEM_PROMPT


async def test_scripted_backend_plays_records_and_raises():
    def responder(messages, tools, n):
        return [answer(f"n={n}"), answer("extra")]

    backend = ScriptedBackend([call("a", x=1), [give_up(), unparseable(), answer("cut")],
                               responder, ValueError, BackendError("down")])
    assert (await backend.propose([{"role": "user", "content": "q"}], tools=[], n=1))[0] \
        .call.name == "a"
    two = await backend.propose([], tools=[{"type": "function", "function": {"name": "t"}}],
                                n=2, constraint={"anyOf": []})
    assert [c.kind for c in two] == ["give_up", "unparseable"]       # cut to n
    assert [c.answer for c in await backend.propose([], tools=[], n=1)] == ["n=1"]
    with pytest.raises(ValueError):
        await backend.propose([], tools=[], n=1)
    with pytest.raises(BackendError):
        await backend.propose([], tools=[], n=1)
    with pytest.raises(BackendError, match="ran out"):
        await backend.propose([], tools=[], n=1)
    assert len(backend.requests) == 6
    assert backend.requests[1].tool_names == ["t"] and backend.requests[1].n == 2
    assert backend.requests[1].constraint == {"anyOf": []}
    assert backend.requests[0].text == "q"
    await backend.aclose()
    assert backend.closed


def _big_spec(count: int) -> dict:
    paths = {}
    for i in range(count):
        paths[f"/thing{i}"] = {"get": {"operationId": f"get_thing_{i}",
                                       "summary": f"Get widget number {i} colour {i * 7}",
                                       "responses": {"200": {"description": "ok"}}}}
    paths["/weather"] = {"get": {"operationId": "get_weather",
                                 "summary": "Weather forecast for a city",
                                 "parameters": [{"name": "city", "in": "query",
                                                 "required": True,
                                                 "schema": {"type": "string"}}],
                                 "responses": {"200": {"description": "ok"}}}}
    return {"openapi": "3.1.0", "info": {"title": "big", "version": "1"},
            "servers": [{"url": "http://127.0.0.1:9"}], "paths": paths}


async def test_large_toolset_offers_retrieved_top_k_and_tools_used_stay():
    toolset = Toolset.from_spec(_big_spec(60))
    backend = ScriptedBackend([call("get_thing_3"), answer("done")],
                              capabilities=Capabilities(grammar=True))
    class AnyOk:
        async def execute(self, name, arguments):
            return obs(name, arguments, body={"id": 3})

    # (the read answers a look-up: without answer_after_lookup=0 the next request would be
    # an answer only, its constraint the answer's)
    agent = Agent(backend, toolset, executor=AnyOk(), max_tools=16, retrieve_k=5,
                  search=SearchConfig.dfs(1, answer_after_lookup=0))
    result = await agent.run("what is the weather forecast in Paris")
    first, second = backend.requests
    assert len(first.tool_names) == 6 and "get_weather" in first.tool_names
    assert first.tool_names[-1] == "finish"
    # a real tool called outside the retrieved set is kept on offer once on the path
    assert "get_thing_3" in second.tool_names
    assert "get_thing_3" in json.dumps(second.constraint)
    assert len(result.tools) == 6


def test_search_package_is_pure():
    """agentrt.search takes callables: it never imports an HTTP client, a backend, the executor
    or the toolset; of agentrt it uses only itself and the protocol (the validator's
    ``Violation`` for type checking only)."""
    root = Path(agentrt.search.__file__).parent
    for path in root.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                assert not name.startswith(("httpx", "llama_cpp", "vllm")), (path.name, name)
                if name.startswith("agentrt") and not name.startswith(
                        ("agentrt.search", "agentrt.protocol")):
                    assert name == "agentrt.validation" and path.name == "steps.py", \
                        (path.name, name)
