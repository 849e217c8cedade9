"""The cheap per-run paths keep their guarantees: a run's result is scrubbed of every known
secret (in the answer, the tree, and the agent's shared parts — after a secret is added later
too), and the executor's own client keeps no cookie."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from agentrt.agent import Agent
from agentrt.executor import Executor
from agentrt.redaction import DEFAULT_REDACTOR, REDACTED
from agentrt.testing import ScriptedBackend, answer, call
from agentrt.toolset import Toolset

#: a secret that another executor of the process knows (this one's redactor does not)
ECHOED = "elsewhere-canary-7f3a9c"


def spec(description: str = "GET /flights/{id}") -> dict[str, Any]:
    return {
        "openapi": "3.1.0", "info": {"title": "Flights", "version": "1"},
        "servers": [{"url": "http://flights.test/v1"}],
        "paths": {"/flights/{id}": {"get": {
            "operationId": "get_flight", "description": description,
            "parameters": [{"name": "id", "in": "path", "required": True,
                            "schema": {"type": "string"}}],
            "responses": {"200": {"description": "ok"}}}}},
    }


async def flight(request: Request) -> JSONResponse:
    response = JSONResponse({"id": request.path_params["id"], "seats": 3, "note": ECHOED,
                             "seen": sorted(request.cookies)})
    response.set_cookie("session", "user-a-session", path="/")
    return response


APP = Starlette(routes=[Route("/v1/flights/{id}", flight)])


def agent(final: str, *, instructions: str = "", description: str = "GET /flights/{id}"
          ) -> Agent:
    def responder(messages: Any, tools: Any, n: int) -> Any:
        if messages and messages[-1].get("role") == "tool":
            return answer(final)
        return call("get_flight", id="AF1")

    return Agent(ScriptedBackend(responder, record=False), Toolset.from_spec(spec(description)),
                 policy="allow", instructions=instructions,
                 transport=httpx.ASGITransport(app=APP))


async def test_a_clean_result_carries_the_agents_own_shared_parts() -> None:
    async with agent("AF1 has 3 seats.") as a:
        result = await a.run("How many seats are left on flight AF1?")
        again = await a.run("How many seats are left on flight AF1?")
    assert result.status == "solved" and result.system == a.system
    assert [t["function"]["name"] for t in result.tools] == ["get_flight", "finish"]
    assert again.tools == result.tools and again.tools is not result.tools


async def test_a_secret_in_the_answer_and_the_tree_is_scrubbed() -> None:
    DEFAULT_REDACTOR.add(ECHOED)  # what another executor of the process does
    async with agent(f"AF1 has 3 seats ({ECHOED}).") as a:
        result = await a.run("How many seats are left on flight AF1?")
    text = result.to_json()
    assert ECHOED not in text and ECHOED not in (result.answer or "")
    assert REDACTED in (result.answer or "")
    (node,) = [n for n in result.tree.walk() if n.observation is not None]
    assert node.observation.body["note"] == REDACTED


async def test_shared_parts_are_scrubbed_after_a_secret_is_added_later() -> None:
    late = "late-canary-51e0d2b7"
    async with agent("AF1 has 3 seats.", instructions=f"Quote {late} to nobody.",
                     description=f"GET /flights/{{id}} ({late})") as a:
        before = await a.run("How many seats are left on flight AF1?")
        assert late in before.system and late in before.to_json()  # not a secret yet
        DEFAULT_REDACTOR.add(late)
        after = await a.run("How many seats are left on flight AF1?")
    assert late not in after.to_json()
    assert late not in after.system and REDACTED in after.system
    assert late not in after.tools[0]["function"]["description"]
    assert late in a.system  # the agent's own prompt is left alone


async def test_the_executors_own_client_keeps_no_cookie() -> None:
    toolset = Toolset.from_spec(spec())
    async with Executor(toolset, policy="allow",
                        transport=httpx.ASGITransport(app=APP)) as executor:
        first = await executor.execute("get_flight", {"id": "AF1"})
        second = await executor.view().execute("get_flight", {"id": "AF2"})
        assert first.outcome == "ok" and second.outcome == "ok"
        assert second.body["seen"] == []
        assert len(executor.client.cookies) == 0


async def test_an_injected_client_keeps_its_own_cookies() -> None:
    toolset = Toolset.from_spec(spec())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=APP)) as client:
        executor = Executor(toolset, policy="allow", client=client)
        assert (await executor.execute("get_flight", {"id": "AF1"})).outcome == "ok"
        assert client.cookies.get("session") == "user-a-session"  # the caller's choice


async def test_events_are_made_only_when_something_takes_them() -> None:
    import structlog

    structlog.reset_defaults()  # as in an application that configured no logging
    seen: list[Any] = []
    async with agent("AF1 has 3 seats.") as a:
        assert a._events(None) is None  # nothing listens, the log emits nothing
        await a.run("How many seats are left on flight AF1?", on_event=seen.append)
        assert [e.kind.value for e in seen][:1] == ["run_started"]
        with structlog.testing.capture_logs() as logs:
            await a.run("How many seats are left on flight AF1?")
    assert {"search.run_started", "search.call_executed", "search.run_finished"} <= {
        entry["event"] for entry in logs}
