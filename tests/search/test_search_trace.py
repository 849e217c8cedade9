"""Traces: structlog events, JSONL export, fine-tuning export (positives and negatives), and
per-step records whose messages equal, message for message, what the backend received."""

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
    StepRecord,
    export_finetune,
    export_steps,
    finetune_records,
    negative_records,
    read_jsonl,
    replay_requests,
    request_messages,
    step_records,
    write_jsonl,
)

from .conftest import SPEC, FakeExecutor, obs


def OFFERS(args):
    """Search results that name the offers the scripted steps book (so their ids are
    grounded in an observation)."""
    return obs("search_flights", args, body=[{"offer_id": "O1"}, {"offer_id": "O2"},
                                             {"offer_id": "BAD"}])


async def solved_run(extra_answer: str = "booked BK7", note: str = ""):
    toolset = Toolset.from_spec(SPEC)
    backend = ScriptedBackend([
        [call("search_flights", "find offers", origin="LHR", destination="CDG"),
         call("search_flight", origin="LHR")],                       # hallucinated
        [call("book_flight", offer_id="O1"),                         # invalid
         call("book_flight", "book it", offer_id="O1", passenger="Ada")],
        answer(extra_answer, "done"),
    ])
    body = {"booking_id": "BK7", **({"note": note} if note else {})}
    ex = FakeExecutor({"book_flight": lambda a: obs("book_flight", a, status=201, body=body),
                       "search_flights": OFFERS})
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
    # the API echoes both (so the answer is grounded): the exports must still drop them
    result = await solved_run(extra_answer=f"booked with {secret} and custom-canary-77",
                              note=f"{secret} custom-canary-77")
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
                                                    body={"booking_id": "BK7"}),
                       "search_flights": OFFERS})
    result = await Agent(backend, toolset, executor=ex, k=1).run("book LHR-CDG for Ada")
    (record,) = finetune_records(result)
    history = record["messages"][:-1]          # everything before the final finish turn
    seen = backend.requests[-1].messages       # what the model got for that step
    assert seen[: len(history)] == history
    # all that follows in the prompt is this attempt's note (here: the progress reminder)
    assert [m["role"] for m in seen[len(history):]] == ["user"]


# -- per-step records: the messages each model request got, rebuilt from the tree --------------
class Recorder:
    """Wraps a backend and records, per ``propose``, the messages and tools it was given."""

    def __init__(self, inner):
        self.inner, self.name, self.capabilities = inner, inner.name, inner.capabilities
        self.seen: list[tuple[list[dict], list[dict]]] = []

    async def propose(self, messages, *, tools, n=1, sampling=None, constraint=None):
        self.seen.append((json.loads(json.dumps(list(messages))), list(tools)))
        return await self.inner.propose(messages, tools=tools, n=n, sampling=sampling,
                                        constraint=constraint)

    async def aclose(self):
        await self.inner.aclose()


def assert_replay_equals_recording(result, recorder, **options):
    """Every rebuilt request equals, message for message, what the backend received."""
    replayed = replay_requests(result)
    assert [r.number for r in replayed] == list(range(1, len(recorder.seen) + 1))
    for r in replayed:
        messages, _tools = recorder.seen[r.number - 1]
        assert request_messages(result, r, **options) == messages, f"request {r.number}"


async def test_replay_rebuilds_every_request_with_its_notes():
    """Rejections (check time), a failed call, a dead end with backtracking, a refused answer
    and a duplicate: each later request carries the notes the search had gathered."""
    toolset = Toolset.from_spec(SPEC)
    backend = Recorder(ScriptedBackend([
        [call("search_flight", origin="LHR"),                                   # hallucinated
         call("search_flights", "look", origin="LHR", destination="CDG")],
        [call("book_flight", offer_id="BAD", passenger="Ada")],                 # fails (409)
        [call("book_flight", offer_id="BAD", passenger="Ada"),                  # duplicate
         call("book_flight", offer_id="O1")],                                   # invalid
        [give_up("stuck")],                                                     # dead end
        [call("search_flights", origin="LHR", destination="ORY")],              # other branch
        [answer("booked BK7")],                                                 # refused
        [call("book_flight", offer_id="O2", passenger="Ada")],
        [answer("booked BK8", "done")],
    ]))

    def book(args):
        if args["offer_id"] == "BAD":
            return obs("book_flight", args, "client_error", status=409, message="sold out")
        return obs("book_flight", args, status=201, body={"booking_id": "BK8"})

    def check_answer(text, _result):
        return None if "BK8" in text else "BK7 appears in no observation"

    ex = FakeExecutor({"book_flight": book, "search_flights": OFFERS})
    agent = Agent(backend, toolset, executor=ex, search=SearchConfig.dfs(2), policy=None,
                  answer_check=check_answer)
    result = await agent.run("book LHR-CDG or LHR-ORY for Ada")
    assert result.status == "solved" and result.answer == "booked BK8"
    assert_replay_equals_recording(result, backend)
    notes = [m["content"] for m, _ in ((s[0][-1], 0) for s in backend.seen)
             if m["role"] == "user"]
    text = "\n".join(str(n) for n in notes)
    assert "search_flight(" in text and "sold out" in text and "not accepted" in text
    records = step_records(result)
    assert [r.kind for r in records] == ["call", "call", "answer"]
    assert [r.request for r in records] == [5, 7, 8]
    for record in records:
        assert record.messages == backend.seen[record.request - 1][0]
        assert record.tools == backend.seen[record.request - 1][1]
    assert records[0].repair is True                 # the first branch died at the root
    assert json.loads(records[-1].reply["tool_calls"][0]["function"]["arguments"]) == {
        "return_type": "give_answer", "final_answer": "booked BK8"}


async def test_replay_native_format_and_depth_limit():
    """A native-format backend: notes phrased for plain-text answers, the reply is plain
    text; a call at the step limit is not executed and the next request says so."""
    from agentrt.backends.base import Capabilities

    toolset = Toolset.from_spec(SPEC)
    inner = ScriptedBackend([
        call("search_flights", origin="LHR", destination="CDG"),
        call("book_flight", offer_id="O1", passenger="Ada"),      # at the limit: not sent
        answer("LHR-CDG has offers."),
    ], capabilities=Capabilities(native_n=False, tool_call_format="native"))
    backend = Recorder(inner)
    from agentrt.search import Budget

    agent = Agent(backend, toolset, executor=FakeExecutor({"search_flights": OFFERS}), k=1,
                  budget=Budget(max_depth=2))
    result = await agent.run("any offers LHR-CDG?")
    assert result.status == "solved"
    assert_replay_equals_recording(result, backend)
    assert "step limit" in backend.seen[2][0][-1]["content"]
    records = step_records(result)
    assert records[-1].reply == {"role": "assistant", "content": "LHR-CDG has offers."}
    assert records[-1].tool_call_format == "native"
    assert [r.step for r in records] == [0, 1] and records[0].steps == 2


async def test_step_records_round_trip_and_export(tmp_path):
    result = await solved_run()
    records = step_records(result, provenance={"task_id": "t1"})
    assert records and all(r.provenance["task_id"] == "t1" for r in records)
    out = tmp_path / "steps.jsonl"
    assert export_steps([result, result], out) == 2 * len(records)
    lines = out.read_text().splitlines()
    again = [StepRecord.model_validate_json(line) for line in lines]
    assert again[0].format == "agentrt.step/1" and again[0].messages == records[0].messages


async def test_unsolved_run_gives_no_step_records():
    backend = ScriptedBackend([give_up()] * 9)
    result = await Agent(backend, Toolset.from_spec(SPEC), executor=FakeExecutor(), k=1).run("q")
    assert step_records(result) == []
