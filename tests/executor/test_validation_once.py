"""Each call is validated once on its way from the model to the wire: the agent's search checks
it and tells the executor so; the executor alone (or given anything else) still validates."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from agentrt.agent import Agent
from agentrt.executor import Executor
from agentrt.testing import ScriptedBackend, answer, call
from agentrt.toolset import Toolset

SPEC: dict[str, Any] = {
    "openapi": "3.1.0", "info": {"title": "Flights", "version": "1"},
    "servers": [{"url": "http://api.test/v1"}],
    "paths": {
        "/flights/{id}": {"get": {
            "operationId": "get_flight",
            "parameters": [{"name": "id", "in": "path", "required": True,
                            "schema": {"type": "string", "pattern": "^[A-Z]{2}[0-9]+$"}}],
            "responses": {"200": {"description": "ok"}}}},
        "/bookings": {"post": {
            "operationId": "book", "requestBody": {"required": True, "content": {
                "application/json": {"schema": {"type": "object", "required": ["flight"],
                                                "properties": {"flight": {"type": "string"}}}}}},
            "responses": {"201": {"description": "ok"}}}},
    },
}


class Counting(Toolset):
    """A toolset that counts argument validations per tool."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.validations: list[str] = []

    def validate(self, name: str, arguments: dict[str, Any] | str) -> list[Any]:
        self.validations.append(name)
        return super().validate(name, arguments)


def toolset() -> Counting:
    plain = Toolset.from_spec(SPEC)
    return Counting(plain.tools)


sent: list[str] = []


def handler(request: httpx.Request) -> httpx.Response:
    sent.append(request.url.path)
    return httpx.Response(200, json={"id": "AF1", "seats": 3})


@pytest.fixture(autouse=True)
def _clear() -> None:
    sent.clear()


async def test_a_checked_call_is_validated_once() -> None:
    ts = toolset()
    backend = ScriptedBackend([call("get_flight", id="AF1"), answer("AF1: 3 seats")])
    async with Agent(backend, ts, transport=httpx.MockTransport(handler),
                     ground_arguments=False, ground_answers=False) as agent:
        result = await agent.run("flight AF1")
    assert result.status == "solved" and sent == ["/v1/flights/AF1"]
    assert ts.validations == ["get_flight"]  # the search's check only


async def test_the_executor_alone_still_refuses_an_invalid_call() -> None:
    ts = toolset()
    async with Executor(ts, transport=httpx.MockTransport(handler)) as ex:
        bad = await ex.execute("get_flight", {"id": "../admin"})
        good = await ex.execute("get_flight", {"id": "AF1"})
    assert bad.outcome == "rejected" and bad.violations and good.outcome == "ok"
    assert ts.validations == ["get_flight", "get_flight"] and sent == ["/v1/flights/AF1"]


async def test_prevalidated_skips_only_the_schema_check() -> None:
    ts = toolset()
    async with Executor(ts, transport=httpx.MockTransport(handler)) as ex:
        unknown = await ex.execute("no_such_tool", {}, prevalidated=True)
        not_object = await ex.execute("get_flight", '["AF1"]', prevalidated=True)
        unsafe = await ex.execute("book", {"flight": "AF1"}, prevalidated=True)  # deny policy
        path = await ex.execute("get_flight", {"id": ".."}, prevalidated=True)  # request build
    assert [o.outcome for o in (unknown, not_object, unsafe, path)] == ["rejected"] * 2 + [
        "denied", "rejected"]
    assert sent == []


async def test_an_unchecked_call_of_a_baseline_search_is_validated_by_the_executor() -> None:
    """react and dfsdt send invalid calls on (validate_calls=False): the executor refuses them."""
    ts = toolset()
    backend = ScriptedBackend([call("get_flight", id="not an id"), answer("none")])
    async with Agent(backend, ts, search="react", transport=httpx.MockTransport(handler),
                     ground_arguments=False, ground_answers=False) as agent:
        result = await agent.run("flight?")
    outcomes = [n.outcome for n in result.tree.walk() if n.outcome]
    assert outcomes == ["rejected"] and sent == []
    assert ts.validations == ["get_flight", "get_flight"]  # the search's, then the executor's
