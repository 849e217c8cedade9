"""One Agent, many runs: one HTTP client (connection pool, OAuth2 token cache) shared by every
run, a per-run policy and credentials on top of it, closed with the agent — in process and over
a real socket."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from agentrt.agent import Agent
from agentrt.errors import ConfigError
from agentrt.executor import Executor, Policy
from agentrt.testing import ScriptedBackend, answer, call, serve_in_thread
from agentrt.toolset import Toolset


class Api:
    """A flights API with an OAuth2 token endpoint; it records who called and how."""

    def __init__(self) -> None:
        self.token_fetches = 0
        self.peers: list[tuple[str, int]] = []  # (host, port) of each API call's connection
        self.bookings: list[dict[str, Any]] = []
        self.auth: list[str] = []

    async def token(self, request: Request) -> JSONResponse:
        self.token_fetches += 1
        return JSONResponse({"access_token": f"tok-{self.token_fetches}", "token_type": "bearer",
                             "expires_in": 3600})

    async def flight(self, request: Request) -> JSONResponse:
        assert request.client is not None
        self.peers.append((request.client.host, request.client.port))
        self.auth.append(request.headers.get("authorization", ""))
        return JSONResponse({"id": request.path_params["id"], "seats": 3})

    async def book(self, request: Request) -> JSONResponse:
        self.bookings.append({"key": request.headers.get("x-key"), **(await request.json())})
        return JSONResponse({"reference": f"BK{len(self.bookings)}"}, status_code=201)

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/token", self.token, methods=["POST"]),
            Route("/v1/flights/{id}", self.flight),
            Route("/v1/bookings", self.book, methods=["POST"]),
        ])


def spec(base: str) -> dict[str, Any]:
    return {
        "openapi": "3.1.0", "info": {"title": "Flights", "version": "1"},
        "servers": [{"url": f"{base}/v1"}],
        "components": {"securitySchemes": {
            "oauth": {"type": "oauth2", "flows": {"clientCredentials": {
                "tokenUrl": f"{base}/token", "scopes": {}}}},
            "key": {"type": "apiKey", "in": "header", "name": "X-Key"}}},
        "paths": {
            "/flights/{id}": {"get": {
                "operationId": "get_flight", "security": [{"oauth": []}],
                "parameters": [{"name": "id", "in": "path", "required": True,
                                "schema": {"type": "string"}}],
                "responses": {"200": {"description": "ok"}}}},
            "/bookings": {"post": {
                "operationId": "book_flight", "security": [{"key": []}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["flight"],
                    "properties": {"flight": {"type": "string"}}}}}},
                "responses": {"201": {"description": "booked"}}}},
        },
    }


def responder(messages: Sequence[dict[str, Any]], tools: Any, n: int) -> Any:
    if any(m.get("role") == "tool" for m in messages):
        return answer("done")
    request = next(str(m.get("content")) for m in messages if m.get("role") == "user")
    if "book" in request:
        return call("book_flight", flight="AF1")
    return call("get_flight", id="AF1")


CREDENTIALS: dict[str, Any] = {"oauth": {"client_id": "app", "client_secret": "client-secret-42"},
               "key": "agent-key-1"}


def make_agent(base: str, **kw: Any) -> Agent:
    return Agent(ScriptedBackend(responder), Toolset.from_spec(spec(base)),
                 credentials=CREDENTIALS, ground_arguments=False, ground_answers=False, **kw)


async def test_one_client_and_one_token_for_every_run_closed_with_the_agent() -> None:
    api = Api()
    async with make_agent("http://api.test", transport=httpx.ASGITransport(app=api.app())) \
            as agent:
        results = await asyncio.gather(*(agent.run("flight AF1?") for _ in range(10)))
        results.append(await agent.run("flight AF1 again?"))
        shared = agent.shared_executor
        assert shared is not None and not shared.client.is_closed
        assert {r.status for r in results} == {"solved"}
        assert len(api.peers) == 11 and api.token_fetches == 1  # one token cache
        assert set(api.auth) == {"Bearer tok-1"}
        assert agent.shared_executor is shared  # the same executor (client) for every run
    assert shared.client.is_closed and agent.shared_executor is None


async def test_per_run_policy_and_credentials_over_the_shared_client() -> None:
    api = Api()
    agent = make_agent("http://api.test", transport=httpx.ASGITransport(app=api.app()),
                       policy="deny")
    try:
        denied = await agent.run("book AF1")  # the agent's policy: deny
        allowed = await agent.run("book AF1", policy="allow")
        other = await agent.run("book AF1", policy="allow", credentials={"key": "tenant-key-2"})
        again = await agent.run("book AF1")
        client = agent.shared_executor.client if agent.shared_executor else None
    finally:
        await agent.aclose()
    outcomes = [[n.outcome for n in r.tree.walk() if n.outcome] for r in
                (denied, allowed, other, again)]
    assert outcomes == [["denied"], ["ok"], ["ok"], ["denied"]]
    assert [b["key"] for b in api.bookings] == ["agent-key-1", "tenant-key-2"]
    assert client is not None and client.is_closed
    assert "tenant-key-2" not in other.to_json()


async def test_an_injected_executor_is_shared_and_never_closed() -> None:
    api = Api()
    toolset = Toolset.from_spec(spec("http://api.test"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api.app())) as client:
        executor = Executor(toolset, client=client, credentials=CREDENTIALS)
        async with Agent(ScriptedBackend(responder), toolset, executor=executor,
                         ground_arguments=False, ground_answers=False) as agent:
            assert (await agent.run("flight AF1?")).status == "solved"
            with pytest.raises(ConfigError):
                await agent.run("flight AF1?", credentials={"key": "x"})
        assert not client.is_closed
        assert (await executor.execute("get_flight", {"id": "AF2"})).outcome == "ok"


def test_run_sync_opens_and_closes_a_client_each_time() -> None:
    api = Api()
    agent = make_agent("http://api.test", transport=httpx.ASGITransport(app=api.app()))
    assert agent.run_sync("flight AF1?").status == "solved"
    assert agent.shared_executor is None  # closed before run_sync returned
    assert agent.run_sync("flight AF1?").status == "solved"  # a new loop, a new client


def test_runs_share_one_connection_over_a_real_socket() -> None:
    api = Api()
    with serve_in_thread(api.app()) as served:
        agent = make_agent(served.url)

        async def main() -> list[Any]:
            async with agent:
                out = [await agent.run("flight AF1?") for _ in range(5)]
                out.append(await agent.run("book AF1", policy="allow",
                                           credentials={"key": "tenant-key-2"}))
                return out

        results = asyncio.run(main())
    assert [r.status for r in results] == ["solved"] * 6
    assert len(api.peers) == 5 and len(set(api.peers)) == 1  # one kept-alive connection
    assert api.token_fetches == 1
    assert api.bookings == [{"key": "tenant-key-2", "flight": "AF1"}]


def test_run_sync_from_several_threads_at_once() -> None:
    from concurrent.futures import ThreadPoolExecutor

    api = Api()
    agent = make_agent("http://api.test", transport=httpx.ASGITransport(app=api.app()))
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _i: agent.run_sync("flight AF1?"), range(12)))
    assert [r.status for r in results] == ["solved"] * 12
    assert agent.shared_executor is None and agent._opened == {}  # each closed its own


async def test_requests_in_flight_are_bounded_by_the_pool() -> None:
    """Past max_connections, calls wait in the executor (cheaply), not in httpcore's queue."""
    in_flight, peak = 0, 0

    async def slow(request: Request) -> JSONResponse:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0)  # let the others in, if they may
        await asyncio.sleep(0)
        in_flight -= 1
        return JSONResponse({"id": "AF1", "seats": 3})

    app = Starlette(routes=[Route("/v1/flights/{id}", slow)])
    toolset = Toolset.from_spec(spec("http://api.test"))
    async with Executor(toolset, transport=httpx.ASGITransport(app=app), policy="allow",
                        limits=httpx.Limits(max_connections=3)) as ex:
        results = await asyncio.gather(*(ex.execute("get_flight", {"id": f"AF{i}"})
                                         for i in range(12)))
    assert peak == 3 and {o.outcome for o in results} == {"ok"}


async def test_a_guard_policy_run_gets_the_provenance_it_needs() -> None:
    """Under ``guard`` the agent wraps the run's executor so the policy can read where each
    argument came from: the user's own booking goes through (unwired, guard fails closed)."""
    api = Api()
    async with make_agent("http://api.test", transport=httpx.ASGITransport(app=api.app())) \
            as agent:
        result = await agent.run("book AF1", policy=Policy.from_value("guard"))
    assert [n.outcome for n in result.tree.walk() if n.outcome] == ["ok"]
    assert [b["flight"] for b in api.bookings] == ["AF1"]


def test_an_agent_never_closed_closes_its_client_with_the_event_loop() -> None:
    """``asyncio.run(main())`` with runs and no ``aclose``: the loop's shutdown closes it."""
    api = Api()
    agent = make_agent("http://api.test", transport=httpx.ASGITransport(app=api.app()))
    clients: list[httpx.AsyncClient] = []

    async def main() -> None:
        await asyncio.gather(*(agent.run("flight AF1?") for _ in range(3)))
        shared = agent.shared_executor
        assert shared is not None
        clients.append(shared.client)

    asyncio.run(main())
    assert clients[0].is_closed and agent.shared_executor is None
    asyncio.run(main())  # and the next loop opens a new one
    assert clients[1] is not clients[0] and clients[1].is_closed
