"""The evaluation over the real demo services and checkers, driven by a scripted model."""

from __future__ import annotations

import json
import re

import pytest

from agentrt.backends.base import Capabilities
from agentrt.evaluation import evaluate, format_table
from agentrt.testing import ScriptedBackend, answer, call

tasks_mod = pytest.importorskip("agentrt_demo.tasks")
suite_mod = pytest.importorskip("agentrt_demo.suite")


def demo_model(messages, tools, n):
    """A tiny 'model': looks the airport up / cancels the booking, then reports what it saw;
    its first proposal is a hallucinated tool (dfs rejects it, react sends it)."""
    request = messages[1]["content"]
    last = messages[-1]
    if last["role"] == "user" and messages[-2]["role"] == "tool":
        last = messages[-2]  # a note after a result (progress, answer now): read the result
    if last["role"] == "tool":
        seen = json.loads(last["content"])
        body = seen.get("body") or {}
        if seen.get("outcome") != "ok":
            return answer("that failed")
        if "name" in body:
            return answer(f"The airport is {body['name']}.")
        return answer(f"Booking {body.get('booking_id')} is now {body.get('status')}: cancelled.")
    tried = any(m["role"] == "assistant" for m in messages) or (
        last["role"] == "user" and "not sent" in last["content"])
    if "airport with IATA code" in request:
        code = re.search(r"code ([A-Z]{3})", request).group(1)
        if tried:
            return call("get_airport", code=code)
        return [call("airport_lookup", iata=code), call("get_airport", code=code)][:n]
    ref = re.search(r"booking ([A-Z0-9]{6})", request).group(1)
    return call("cancel_flight_booking", booking_id=ref)


def test_evaluate_two_modes_on_real_tasks(tmp_path):
    wanted = {"lookup-airport-lis", "cancel-flight-ref"}
    tasks = [t for t in tasks_mod.load_tasks() if t.id in wanted]
    seen = []
    # the scripted 'model' reads the results as JSON, so they are not shown as compact text
    backend = ScriptedBackend(demo_model, capabilities=Capabilities(
        native_n=True, compact_observations=False))
    out = evaluate(backend, ["dfs", "react"], tasks,
                   suite=suite_mod.DemoSuite(), json_out=tmp_path / "eval.json", progress=seen.append, model="scripted")
    dfs, react = out["summary"]
    assert dfs["mode"] == "dfs" and react["mode"] == "react"
    for s in (dfs, react):
        assert set(s) >= {"mode", "model", "tasks", "passed", "pass_rate", "model_calls",
                          "executed", "executed_invalid", "rejected_hallucinated",
                          "rejected_invalid", "seconds"}
        assert s["tasks"] == 2 and s["model"] == "scripted"
    assert dfs["passed"] == 2, out["results"]
    assert dfs["executed_invalid"] == 0 and dfs["rejected_hallucinated"] == 1
    assert react["executed_invalid"] == 1 and react["rejected_hallucinated"] == 0
    assert len(seen) == 4 and seen[0]["index"] == 1
    written = json.loads((tmp_path / "eval.json").read_text())
    assert written["summary"][0]["passed"] == 2
    assert "pass rate" in out["table"] and "react" in out["table"]
    assert format_table([dfs]).count("\n") == 1


def test_the_policy_option_reaches_the_agents(tmp_path):
    """Side effects are allowed unless the options say otherwise: under ``deny`` the scripted
    model's cancellation is held back and the task fails; by default it passes."""
    tasks = [t for t in tasks_mod.load_tasks() if t.id == "cancel-flight-ref"]
    results = {}
    for options in ({}, {"policy": "deny"}):
        backend = ScriptedBackend(demo_model, capabilities=Capabilities(
            native_n=True, compact_observations=False))
        out = evaluate(backend, "dfs", tasks, suite=suite_mod.DemoSuite(), model="scripted",
                       agent_options=options)
        results[options.get("policy", "allow")] = out["results"][0]
    assert results["allow"]["passed"], results["allow"]
    assert not results["deny"]["passed"]
    assert results["deny"]["calls"] == [["cancel_flight_booking", "denied"]]
    assert ["cancel_flight_booking", "ok"] in results["allow"]["calls"]
