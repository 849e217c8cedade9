"""Demonstrations from experience: the store, retrieval (same toolset, never the same
request), the worked example in the system prompt (AgentConfig.demonstrations), the shipped
demo store (no overlap with the evaluation tasks), and `--remember` recording solved runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentrt.agent import Agent
from agentrt.cli import main
from agentrt.demonstrations import (
    Demonstration,
    DemonstrationStore,
    demonstration_messages,
    demonstration_text,
    record_run,
    toolset_key,
    user_store,
)
from agentrt.errors import ConfigError
from agentrt.prompts import SYSTEM_PROMPT, system_prompt
from agentrt.testing import ScriptedBackend, answer, call
from agentrt.toolset import Toolset
from agentrt.trace import export_steps, write_jsonl
from agentrt_demo import DEMO_API_KEY, demo_toolset, running_services, spec_path
from agentrt_demo.generate import EVAL_NAMES, eval_index, normalized_request
from agentrt_demo.teacher import DEMONSTRATIONS_FILE
from tests.search.conftest import SPEC, FakeExecutor, obs

from .conftest import TODAY

NAMES = [t.name for t in Toolset.from_spec(SPEC).tools]


async def _solved(query: str, origin: str = "LHR") -> object:
    backend = ScriptedBackend([call("search_flights", origin=origin, destination="CDG"),
                               answer("Offer O1 is available.")])
    ex = FakeExecutor({"search_flights": lambda a: obs("search_flights", a,
                                                       body=[{"offer_id": "O1"}])})
    return await Agent(backend, Toolset.from_spec(SPEC), executor=ex, k=1).run(query)


async def test_store_retrieves_the_most_similar_run_never_the_same(tmp_path: Path) -> None:
    store = tmp_path / "demos.jsonl"
    for q, origin in (("find flights from LHR to CDG on 2026-12-01", "LHR"),
                      ("hotel rooms in Paris", "LHR"), ("flights from AMS to CDG tomorrow", "AMS")):
        assert record_run(await _solved(q, origin), NAMES, store)
    demos = DemonstrationStore.load(store)
    assert len(demos) == 3
    best = demos.best("find flights from LHR to CDG on 2027-02-02", NAMES)
    assert best is None or normalized_request(best.query) != normalized_request(
        "find flights from LHR to CDG on 2027-02-02")
    assert best is not None and best.query == "flights from AMS to CDG tomorrow"
    other = demos.best("any flights from MAD to CDG?", NAMES)
    assert other is not None and "flights" in other.query
    assert demos.best("any flights?", ["some", "other", "toolset"]) is None


async def test_the_worked_example_follows_the_system_prompt(tmp_path: Path) -> None:
    store = tmp_path / "demos.jsonl"
    record_run(await _solved("flights from AMS to CDG", "AMS"), NAMES, store)
    backend = ScriptedBackend([call("search_flights", origin="LHR", destination="CDG"),
                               answer("Offer O1 is available.")])
    ex = FakeExecutor({"search_flights": lambda a: obs("search_flights", a,
                                                       body=[{"offer_id": "O1"}])})
    agent = Agent(backend, Toolset.from_spec(SPEC), executor=ex, k=1, instructions="Today.",
                  demonstrations=str(store))
    result = await agent.run("flights from LHR to CDG")
    # the rules stay the first system message (the prefix every request shares); the example
    # is a second system message, the same for the whole run
    systems = [r.messages[0]["content"] for r in backend.requests]
    examples = [r.messages[1]["content"] for r in backend.requests]
    assert set(systems) == {SYSTEM_PROMPT + "\n\nToday."} and systems[0] == result.system
    assert [r.messages[1]["role"] for r in backend.requests] == ["system", "system"]
    assert len(set(examples)) == 1 and examples[0] == result.demonstration
    assert examples[0].startswith("A solved example")
    assert 'search_flights({"destination": "CDG", "origin": "AMS"})' in examples[0]
    # the same request is never its own example: no other run, no example
    plain = Agent(ScriptedBackend([answer("Sorry, I cannot help with that.")]),
                  Toolset.from_spec(SPEC), executor=ex, k=1, demonstrations=str(store))
    again = await plain.run("Flights from AMS to CDG ")
    assert again.system == SYSTEM_PROMPT and again.demonstration is None


def test_system_prompt_order_and_rendering() -> None:
    demo = Demonstration(query="q", toolset="t", answer="Done: X1.", messages=[
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type":
         "function", "function": {"name": "get", "arguments": '{"id": "X1"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "outcome: ok\nid: X1"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "call_2", "type":
         "function", "function": {"name": "finish", "arguments": json.dumps(
             {"return_type": "give_answer", "final_answer": "Done: X1."})}}]}])
    json_text, native_text = demonstration_text(demo), demonstration_text(demo, native=True)
    assert 'Step 1: get({"id": "X1"})' in json_text and "Step 2: finish(" in json_text
    assert "finish" not in native_text and "plain text" in native_text
    assert demonstration_messages(demo, native=True)[-1] == {"role": "assistant",
                                                             "content": "Done: X1."}
    assert system_prompt("I") == f"{SYSTEM_PROMPT}\n\nI"


async def test_store_reads_the_trace_formats_and_refuses_broken_lines(tmp_path: Path) -> None:
    result = await _solved("flights from LHR to CDG")
    runs, steps = tmp_path / "runs.jsonl", tmp_path / "steps.jsonl"
    write_jsonl([result], runs)
    export_steps([result], steps)
    for path in (runs, steps):
        [demo] = DemonstrationStore.load(path).demos
        assert demo.query == "flights from LHR to CDG" and demo.answer == "Offer O1 is available."
        assert [c[0] for c in demo.calls] == ["search_flights"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(runs.read_text() + '{"what": 1}\n')
    with pytest.raises(ConfigError, match=r"bad.jsonl:2: not a demonstration"):
        DemonstrationStore.load(bad)
    assert len(DemonstrationStore.load(tmp_path / "missing.jsonl")) == 0


def test_shipped_demonstrations_fit_the_demo_and_not_the_evaluation() -> None:
    store = DemonstrationStore.load(DEMONSTRATIONS_FILE)
    assert 24 <= len(store) <= 60 and DEMONSTRATIONS_FILE.stat().st_size < 150_000
    key = toolset_key(demo_toolset("http://f", "http://h").names)
    index = eval_index()
    categories = set()
    for demo in store.demos:
        assert demo.toolset == key and demo.calls
        assert demo.source["task_id"].startswith("gen-")
        assert normalized_request(demo.query) not in index.requests, demo.query
        text = json.dumps(demo.messages).lower()
        assert not [n for n in EVAL_NAMES if n in text], demo.query
        categories.add(demo.source["category"])
    assert len(categories) >= 8
    assert store.best("Book the cheapest economy flight from LIS to MAD on 2026-12-16 for Ana "
                      "Silva (born 1990-04-12).", demo_toolset("http://f", "http://h").names)


def test_user_store_and_cli_remember(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTRT_HOME", str(tmp_path / "home"))
    assert user_store() == tmp_path / "home" / "demonstrations.jsonl"
    steps = tmp_path / "steps.json"
    steps.write_text(json.dumps([{"call": "get_airport", "arguments": {"code": "LIS"}},
                                 {"answer": "LIS is Humberto Delgado Airport."}]))
    monkeypatch.setenv("DEMO_KEY", DEMO_API_KEY)
    with running_services(tmp_path / "state", today=TODAY) as svc:
        rc = main(["run", "What is the airport LIS called?", "--spec",
                   str(spec_path("flights")), "--base-url", svc.flights_url,
                   "--credential-env", "ApiKeyAuth=DEMO_KEY", "--model", f"scripted:{steps}",
                   "--remember"])
    assert rc == 0
    [demo] = DemonstrationStore.load(user_store()).demos
    assert demo.query == "What is the airport LIS called?" and demo.calls[0][0] == "get_airport"
    assert DEMO_API_KEY not in user_store().read_text()
