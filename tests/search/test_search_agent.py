"""The Agent: a real Toolset, the scripted backend, an injected executor double, and one
end-to-end run through the real Executor against a Starlette app over a real socket."""

from __future__ import annotations

import asyncio
import json

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from agentrt.agent import Agent, compensation_arguments
from agentrt.backends.base import Backend, Candidate
from agentrt.errors import BackendError, ConfigError
from agentrt.search import Budget, RunResult, SearchConfig
from agentrt.testing import ScriptedBackend, answer, call, give_up, serve_in_thread
from agentrt.toolset import Toolset

from .conftest import API_KEY, SPEC, FakeExecutor, obs


@pytest.fixture(scope="module")
def toolset() -> Toolset:
    return Toolset.from_spec(SPEC)


def booked(arguments):
    return obs("book_flight", arguments, status=201, body={"booking_id": "BK7"})


async def test_agent_dfs_with_injected_executor(toolset):
    backend = ScriptedBackend([
        [call("find_flights", origin="LHR"),                       # hallucinated
         call("search_flights", origin="london", destination="CDG"),  # invalid pattern
         call("search_flights", origin="LHR", destination="CDG")],
        answer("AF1"),
    ])
    assert isinstance(backend, Backend)
    ex = FakeExecutor()
    agent = Agent(backend, toolset, executor=ex, k=3)
    result = await agent.run("LHR to CDG")
    assert result.status == "solved"
    assert result.stats["rejected_hallucinated"] == 1
    assert result.stats["rejected_invalid"] == 1
    assert result.stats["executed"] == 1 and result.stats["executed_invalid"] == 0
    assert ex.calls == [("search_flights", {"origin": "LHR", "destination": "CDG"})]
    first = backend.requests[0]
    assert first.n == 3
    assert set(first.tool_names) == {"search_flights", "book_flight", "cancel_booking",
                                     "finish"}
    assert first.messages[0]["role"] == "system" and first.messages[1]["content"] == "LHR to CDG"
    second = backend.requests[1]
    assert second.messages[2]["tool_calls"][0]["function"]["name"] == "search_flights"
    assert second.messages[3]["role"] == "tool"
    # the run carries what the fine-tuning export needs
    assert result.system.startswith("You are") and result.tools[-1]["function"]["name"] == "finish"


async def test_violations_reach_the_model_as_text(toolset):
    backend = ScriptedBackend([call("search_flights", origin="LHR"),
                               call("search_flights", origin="LHR", destination="CDG"),
                               answer("x")])
    await Agent(backend, toolset, executor=FakeExecutor(), k=1).run("q")
    note = backend.requests[1].messages[-1]
    assert note["role"] == "user"
    assert "destination" in note["content"] and "not sent" in note["content"]


async def test_grammar_backend_gets_the_call_schema(toolset):
    from agentrt.backends.base import Capabilities

    backend = ScriptedBackend([answer("x")], capabilities=Capabilities(grammar=True))
    await Agent(backend, toolset, executor=FakeExecutor()).run("q")
    constraint = backend.requests[0].constraint
    assert constraint is not None and "anyOf" in json.dumps(constraint)


async def test_modes_by_name_and_bad_mode(toolset):
    assert Agent(ScriptedBackend([]), toolset, search="dfsdt").search.batch is False
    assert Agent(ScriptedBackend([]), toolset, search="react").search.backtrack is False
    assert Agent(ScriptedBackend([]), toolset, search=SearchConfig.dfs(5)).search.k == 5
    with pytest.raises(ConfigError):
        Agent(ScriptedBackend([]), toolset, search="bfs")


async def test_dead_backend_raises_typed_error(toolset):
    backend = ScriptedBackend([BackendError("model server down", backend="x")])
    with pytest.raises(BackendError):
        await Agent(backend, toolset, executor=FakeExecutor()).run("q")


async def test_concurrent_runs_share_backend_and_toolset(toolset):
    """40 runs at once on one agent: each gets its own tree, answer and counters."""

    async def respond(messages, tools, n):
        await asyncio.sleep(0)
        query = messages[1]["content"]
        dest = query.split()[-1]
        if messages[-1]["role"] == "tool":
            return answer(f"done {dest}")
        if messages[-1]["role"] == "user" and "not sent" in messages[-1]["content"]:
            return call("search_flights", origin="LHR", destination=dest)
        return [call("search_flights", origin="LHR"), call("nope")]  # both rejected

    backend = ScriptedBackend(respond)
    ex = FakeExecutor()
    agent = Agent(backend, toolset, executor=ex, k=2)
    dests = [f"{a}{b}X" for a in "ABCDE" for b in "FGHIJKLM"]
    results = await asyncio.gather(*(agent.run(f"fly to {d}") for d in dests))
    assert [r.answer for r in results] == [f"done {d}" for d in dests]
    for r, d in zip(results, dests, strict=True):
        assert r.stats["rejected_invalid"] == 1 and r.stats["rejected_hallucinated"] == 1
        assert r.calls[0].arguments == {"origin": "LHR", "destination": d}
        assert r.stats["model_calls"] == 3
    assert len(ex.calls) == len(dests)


async def test_run_result_json_round_trip(toolset):
    backend = ScriptedBackend([call("book_flight", offer_id="O1", passenger="Ada"),
                               answer("BK7")])
    result = await Agent(backend, toolset, executor=FakeExecutor({"book_flight": booked}),
                         k=1).run("book offer O1 for Ada")  # the id comes from the request
    text = result.to_json()
    back = RunResult.from_json(text)
    assert back == result
    assert back.side_effects[0].body == {"booking_id": "BK7"}
    assert json.loads(text)["tree"]["children"][0]["tool"] == "book_flight"
    assert set(result.to_dict()["stats"]) >= {"model_calls", "candidates",
                                              "rejected_hallucinated", "rejected_invalid",
                                              "rejected_duplicate", "executed",
                                              "executed_invalid"}


def test_run_sync_and_not_inside_a_loop(toolset):
    agent = Agent(ScriptedBackend([answer("hi")]), toolset, executor=FakeExecutor())
    assert agent.run_sync("q").answer == "hi"

    async def inside():
        with pytest.raises(ConfigError):
            agent.run_sync("q")

    asyncio.run(inside())


async def test_stream_yields_events_then_result(toolset):
    agent = Agent(ScriptedBackend([call("search_flights", origin="LHR", destination="CDG"),
                                   answer("AF1")]), toolset, executor=FakeExecutor(), k=1)
    events = [e async for e in agent.stream("q")]
    assert next(e.kind for e in events) == "run_started"
    assert "call_executed" in [e.kind for e in events]
    assert events[-1].kind == "run_finished" and events[-1].data["result"].answer == "AF1"


def test_compensation_arguments_from_response_and_call():
    params = {"properties": {"booking_id": {}, "reason": {}}}
    assert compensation_arguments(params, {"reason": "x"}, {"booking_id": "B1"}) == {
        "booking_id": "B1", "reason": "x"}
    assert compensation_arguments({"properties": {"booking_id": {}}}, {}, {"id": "Z"}) == {
        "booking_id": "Z"}


# -- over a real socket, through the real Executor ----------------------------------------------
def mini_air() -> tuple[Starlette, dict]:
    state: dict = {"bookings": {}, "posts": 0, "seen_keys": []}

    def authorised(request: Request) -> bool:
        return request.headers.get("x-api-key") == API_KEY

    async def flights(request: Request):
        if not authorised(request):
            return JSONResponse({"error": "unauthorised"}, status_code=401)
        o, d = request.query_params["origin"], request.query_params["destination"]
        return JSONResponse([{"offer_id": f"{o}-{d}-1", "price": 99},
                             {"offer_id": f"{o}-{d}-2", "price": 120}])

    async def book(request: Request):
        if not authorised(request):
            return JSONResponse({"error": "unauthorised"}, status_code=401)
        state["posts"] += 1
        state["seen_keys"].append(request.headers.get("idempotency-key"))
        body = await request.json()
        if body["offer_id"].endswith("SOLD"):
            return JSONResponse({"error": "sold out"}, status_code=409)
        ref = f"BK{len(state['bookings']) + 1}"
        state["bookings"][ref] = {"booking_id": ref, **body, "status": "confirmed"}
        return JSONResponse(state["bookings"][ref], status_code=201)

    async def cancel(request: Request):
        ref = request.path_params["booking_id"]
        state["bookings"][ref]["status"] = "cancelled"
        return JSONResponse(state["bookings"][ref])

    app = Starlette(routes=[Route("/flights", flights), Route("/bookings", book, methods=["POST"]),
                            Route("/bookings/{booking_id}", cancel, methods=["DELETE"])])
    return app, state


async def test_real_executor_over_a_socket_with_compensation(toolset):
    app, state = mini_air()
    backend = ScriptedBackend([
        call("search_flights", origin="LHR", destination="CDG"),
        [call("book_flight", offer_id="LHR-CDG-1", passenger="Ada"),
         call("book_flight", offer_id="LHR-CDG-2", passenger="Ada")],
        give_up(),            # below the first booking -> cancel it, then book the other
        call("book_flight", offer_id="LHR-CDG-1", passenger="Ada"),  # already sent: refused
        answer("booked BK2"),
    ])
    with serve_in_thread(app) as served:
        agent = Agent(backend, toolset, policy="allow", credentials={"key": API_KEY},
                      base_urls=served.url, k=2)
        result = await agent.run("book LHR to CDG for Ada")
    assert result.status == "solved", result.reason
    assert state["posts"] == 2
    assert state["bookings"]["BK1"]["status"] == "cancelled"
    assert state["bookings"]["BK2"]["status"] == "confirmed"
    assert all(state["seen_keys"])  # unsafe calls carried an Idempotency-Key
    assert [s.state for s in result.side_effects] == ["compensated", "committed"]
    assert result.stats["rejected_duplicate"] == 1
    assert result.stats["executed_invalid"] == 0
    assert API_KEY not in result.to_json()


async def test_real_executor_policy_deny_is_refused(toolset):
    app, state = mini_air()
    backend = ScriptedBackend([call("search_flights", origin="LHR", destination="CDG"),
                               call("book_flight", offer_id="LHR-CDG-1", passenger="Ada"),
                               give_up(), give_up(), give_up()])
    with serve_in_thread(app) as served:
        agent = Agent(backend, toolset, credentials={"key": API_KEY}, base_urls=served.url,
                      k=1, budget=Budget(max_candidates_per_node=3), policy="deny")
        result = await agent.run("book")
    assert state["posts"] == 0
    assert result.status == "refused"
    assert [c.outcome for c in result.calls] == ["ok", "denied"]


async def test_candidate_helpers_build_backend_candidates():
    assert call("t", "why", a=1) == Candidate.from_call("t", {"a": 1}, thought="why")
    assert give_up().kind == "give_up"


async def test_per_run_policy_needs_own_executor_and_async_on_event(toolset):
    agent = Agent(ScriptedBackend([answer("x")]), toolset, executor=FakeExecutor())
    with pytest.raises(ConfigError):
        await agent.run("q", policy="allow")
    seen = []

    async def sink(event):
        await asyncio.sleep(0)
        seen.append(event.kind)

    await agent.run("q", on_event=sink)
    assert seen[0] == "run_started" and seen[-1] == "run_finished" and "answer" in seen
