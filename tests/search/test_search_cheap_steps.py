"""A step costs what it must: the model request runs under the run's time budget without a task
of its own, and an agent nobody listens to hands the search a plain (sync) event sink — with
the same outcomes, limits and log events as before."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import structlog

from agentrt.agent import Agent
from agentrt.search import Budget, Hooks, run_search
from agentrt.testing import ScriptedBackend, answer
from agentrt.toolset import Toolset

from .conftest import SPEC


async def nothing(name: str, arguments: Any) -> Any:
    raise AssertionError("no call is made")


async def test_a_model_request_past_max_seconds_ends_the_run_out_of_budget() -> None:
    async def slow(request: Any) -> list[Any]:
        await asyncio.sleep(30)
        return []

    started = time.monotonic()
    result = await run_search("find a flight", Hooks(propose=slow, execute=nothing),
                              budget=Budget(max_seconds=0.2))
    assert time.monotonic() - started < 5
    assert result.status == "out_of_budget" and result.limit == "max_seconds"
    assert "model request" in result.reason


async def test_a_backend_timeout_error_is_the_same_budget_stop() -> None:
    async def raising(request: Any) -> list[Any]:
        raise asyncio.TimeoutError

    result = await run_search("find a flight", Hooks(propose=raising, execute=nothing),
                              budget=Budget(max_seconds=5))
    assert result.status == "out_of_budget" and result.limit == "max_seconds"


async def test_events_reach_the_log_and_the_listeners_alike() -> None:
    toolset = Toolset.from_spec(SPEC)
    agent = Agent(ScriptedBackend(lambda m, t, n: answer("Hello!")), toolset, policy="allow")
    seen: list[str] = []
    with structlog.testing.capture_logs() as quiet:  # no listener: the plain sink
        await agent.run("hi")
    with structlog.testing.capture_logs() as heard:
        await agent.run("hi", on_event=lambda e: seen.append(e.kind.value))
    await agent.aclose()
    events = [e["event"] for e in quiet]
    assert events[0] == "search.run_started" and events[-1] == "search.run_finished"
    assert events == [e["event"] for e in heard] == [f"search.{k}" for k in seen]


async def test_the_first_request_at_a_node_is_greedy_and_a_repeat_is_sampled() -> None:
    from agentrt.backends.base import Capabilities, Sampling
    from agentrt.testing import call

    backend = ScriptedBackend([call("no_such_tool"), answer("Hello!"), answer("Hello again!")],
                              capabilities=Capabilities(native_n=False))  # one per request
    agent = Agent(backend, Toolset.from_spec(SPEC), policy="allow",
                  sampling=Sampling(temperature=0.5, top_p=0.9))
    await agent.run("hi")
    await agent.run("hi")  # a second run: greedy again
    await agent.aclose()
    seen = [(r.sampling.temperature, r.sampling.top_p) for r in backend.requests
            if r.sampling is not None]
    assert seen == [(0.0, 0.9), (0.5, 0.9), (0.0, 0.9)]
