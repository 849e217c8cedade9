"""The protocol module: one low home for the types every stage shares, typed events, and the
one "sync or async" helper."""

from __future__ import annotations

import ast
import asyncio
import json
from pathlib import Path

import pytest

import agentrt.protocol as protocol
from agentrt.backends import base
from agentrt.executor import observation
from agentrt.protocol import EventKind, SearchEvent, maybe_await
from agentrt.toolset import tool


def test_protocol_imports_nothing_from_agentrt() -> None:
    source = Path(protocol.__file__).read_text(encoding="utf-8")
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
        elif isinstance(node, ast.Import):
            imported.update(a.name for a in node.names)
    assert not {m for m in imported if m.split(".")[0] == "agentrt"}


def test_every_stage_uses_the_protocols_types() -> None:
    assert base.Candidate is protocol.Candidate and base.ToolCall is protocol.ToolCall
    assert base.FINISH_TOOL is protocol.FINISH_TOOL and base.FINISH == "finish"
    assert tool.SideEffect is protocol.SideEffect
    assert observation.Outcome is protocol.Outcome
    assert observation.FAILING is protocol.FAILING and observation.NOT_SENT is protocol.NOT_SENT


def test_event_kind_is_a_string_value_everywhere() -> None:
    kind = EventKind.RUN_FINISHED
    assert kind == "run_finished" and str(kind) == "run_finished" and f"{kind}" == "run_finished"
    assert json.dumps({"kind": kind}) == '{"kind": "run_finished"}'
    event = SearchEvent(kind="answer", node=3, data={"answer": "x"})  # a str is checked...
    assert event.kind is EventKind.ANSWER                               # ...and typed
    assert event.to_dict() == {"kind": "answer", "node": 3, "answer": "x"}
    with pytest.raises(ValueError):
        SearchEvent(kind="anwser", node=3)


def test_maybe_await_takes_values_and_awaitables() -> None:
    async def later(value: int) -> int:
        await asyncio.sleep(0)
        return value

    async def main() -> tuple[int, int, None]:
        return await maybe_await(1), await maybe_await(later(2)), await maybe_await(None)

    assert asyncio.run(main()) == (1, 2, None)


def test_finish_candidates() -> None:
    given = protocol.Candidate.from_call("finish", {"return_type": "give_answer",
                                                    "final_answer": "done"})
    assert given.kind == "answer" and given.answer == "done"
    assert protocol.Candidate.from_call(
        "finish", {"return_type": "give_up_and_restart"}).kind == "give_up"
    assert protocol.Candidate.from_call("finish", {"return_type": "give_answer"}).kind \
        == "unparseable"
    assert protocol.Candidate.from_call("search", {"q": 1}).call == protocol.ToolCall(
        name="search", arguments={"q": 1})


@pytest.mark.parametrize("limit", [2000, 100])
def test_the_replayed_observation_text_is_the_one_the_model_saw(limit: int) -> None:
    from agentrt.executor.observation import Observation
    from agentrt.search import ObservationRecord
    from agentrt.validation import Violation

    for obs in [
        Observation(tool="t", arguments={}, outcome="ok", status_code=200, body={"a": "x" * 500}),
        Observation(tool="t", arguments="{", outcome="rejected", message="not sent",
                    violations=(Violation(kind="schema", path="$", message="bad"),)),
        Observation(tool="t", arguments={}, outcome="timeout", truncated=True),
    ]:
        replayed = ObservationRecord.model_validate(obs.to_dict())
        assert replayed.to_model_text(limit) == obs.to_model_text(limit) \
            == protocol.observation_text(obs.to_dict(), limit)
