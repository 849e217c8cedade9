"""Traces: structlog events, JSONL export, fine-tuning export (positives and negatives)."""

from __future__ import annotations

import io
import json

import structlog

from agentrt.agent import Agent
from agentrt.executor.redact import DEFAULT_REDACTOR
from agentrt.search import SearchConfig
from agentrt.testing import ScriptedBackend, answer, call, give_up
from agentrt.toolset import Toolset
from agentrt.trace import (
    export_finetune,
    finetune_records,
    negative_records,
    read_jsonl,
    write_jsonl,
)

from .conftest import SPEC, FakeExecutor, obs


async def solved_run(extra_answer: str = "booked BK7"):
    toolset = Toolset.from_spec(SPEC)
    backend = ScriptedBackend([
        [call("search_flights", "find offers", origin="LHR", destination="CDG"),
         call("search_flight", origin="LHR")],                       # hallucinated
        [call("book_flight", offer_id="O1"),                         # invalid
         call("book_flight", "book it", offer_id="O1", passenger="Ada")],
        answer(extra_answer, "done"),
    ])
    ex = FakeExecutor({"book_flight": lambda a: obs("book_flight", a, status=201,
                                                    body={"booking_id": "BK7"})})
    return await Agent(backend, toolset, executor=ex, search=SearchConfig.dfs(2),
                       policy=None).run("book LHR-CDG for Ada")


async def test_finetune_positive_is_openai_chat_with_tool_calls():
    result = await solved_run()
    (record,) = finetune_records(result)
    assert set(record) == {"messages", "tools"}
    roles = [m["role"] for m in record["messages"]]
    assert roles == ["system", "user", "assistant", "tool", "assistant", "tool", "assistant"]
    calls = [m["tool_calls"][0] for m in record["messages"] if m.get("tool_calls")]
    assert [c["function"]["name"] for c in calls] == ["search_flights", "book_flight", "finish"]
    assert json.loads(calls[-1]["function"]["arguments"]) == {
        "return_type": "give_answer", "final_answer": "booked BK7"}
    tool_turns = [m for m in record["messages"] if m["role"] == "tool"]
    assert tool_turns[1]["tool_call_id"] == calls[1]["id"]
    assert "BK7" in tool_turns[1]["content"]
    assert record["messages"][2]["content"] == "find offers"  # the thought
    # only the working path: no rejected candidate appears in the transcript
    assert "search_flight\"" not in json.dumps(record["messages"])
    assert {t["function"]["name"] for t in record["tools"]} >= {"book_flight", "finish"}


async def test_negatives_carry_violations_and_the_chosen_step():
    result = await solved_run()
    negatives = negative_records(result)
    assert [n["status"] for n in negatives] == ["rejected_hallucinated", "rejected_invalid"]
    hall, inval = negatives
    assert hall["violations"][0]["kind"] == "unknown_tool"
    assert hall["rejected"]["tool_calls"][0]["function"]["name"] == "search_flight"
    assert hall["chosen"]["tool_calls"][0]["function"]["name"] == "search_flights"
    assert [m["role"] for m in hall["messages"]] == ["system", "user"]
    assert inval["violations"][0]["kind"] == "missing_required"
    assert [m["role"] for m in inval["messages"]] == ["system", "user", "assistant", "tool"]
    assert json.loads(inval["chosen"]["tool_calls"][0]["function"]["arguments"])["passenger"] \
        == "Ada"


async def test_unsolved_runs_give_no_positive():
    toolset = Toolset.from_spec(SPEC)
    backend = ScriptedBackend([give_up()] * 9)
    result = await Agent(backend, toolset, executor=FakeExecutor(), k=1).run("q")
    assert result.status == "gave_up"
    assert finetune_records(result) == []


async def test_jsonl_round_trip_and_export_files(tmp_path):
    result = await solved_run()
    path = tmp_path / "runs.jsonl"
    assert write_jsonl([result, result], path) == 2
    assert read_jsonl(path) == [result, result]
    pos, neg = io.StringIO(), io.StringIO()
    counts = export_finetune([result], pos, negatives=neg)
    assert counts == {"positives": 1, "negatives": 2}
    lines = pos.getvalue().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["messages"][0]["role"] == "system"
    assert len(neg.getvalue().splitlines()) == 2


async def test_exports_scrub_secrets():
    secret = "sk-live-canary-0123456789"
    DEFAULT_REDACTOR.add(secret)  # what an executor does with its credentials
    result = await solved_run(extra_answer=f"booked with {secret} and custom-canary-77")
    out = io.StringIO()
    export_finetune([result], out, secrets=["custom-canary-77"])
    write_jsonl([result], out)
    assert secret not in out.getvalue() and "custom-canary-77" not in out.getvalue()
    assert secret not in result.to_json()   # the agent scrubs its result too


async def test_structlog_event_per_step():
    with structlog.testing.capture_logs() as logs:
        await solved_run()
    events = [e["event"] for e in logs]
    assert events[0] == "search.run_started" and events[-1] == "search.run_finished"
    assert events.count("search.call_executed") == 2
    assert events.count("search.candidate_rejected") == 2
    rejected = next(e for e in logs if e["event"] == "search.candidate_rejected")
    assert rejected["status"] == "rejected_hallucinated" and "node" in rejected


async def test_the_export_shows_the_turns_the_model_was_shown():
    toolset = Toolset.from_spec(SPEC)
    backend = ScriptedBackend([
        call("search_flights", "find offers", origin="LHR", destination="CDG"),
        call("book_flight", "book it", offer_id="O1", passenger="Ada"),
        answer("booked BK7", "done"),
    ])
    ex = FakeExecutor({"book_flight": lambda a: obs("book_flight", a, status=201,
                                                    body={"booking_id": "BK7"})})
    result = await Agent(backend, toolset, executor=ex, k=1).run("book LHR-CDG for Ada")
    (record,) = finetune_records(result)
    history = record["messages"][:-1]          # everything before the final finish turn
    seen = backend.requests[-1].messages       # what the model got for that step
    assert seen[: len(history)] == history
    # all that follows in the prompt is this attempt's note (here: the progress reminder)
    assert [m["role"] for m in seen[len(history):]] == ["user"]
