"""Training data: agentrt.step/1 records are read and checked; a broken or foreign line is refused
with its line number and the reason (no torch needed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentrt.training.errors import DataError
from agentrt.training.records import read_records
from tests.training.tiny_model import ANSWER, CALL_ARGS, trajectory, write_records


def test_a_trajectory_reads_as_a_call_and_an_answer(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    path.write_text(json.dumps(trajectory()[0]) + "\n\n" + json.dumps(trajectory()[1]) + "\n")
    call, answer = read_records([path])  # the blank line is skipped
    assert call.call == ("get_airport", CALL_ARGS) and call.answer is None
    assert answer.call is None and answer.answer == ANSWER
    assert call.provenance["teacher"] == "test" and (call.model_extra or {})["step"] == 0


def test_a_finish_call_is_an_answer(tmp_path: Path) -> None:
    record = trajectory()[1]
    record["reply"] = {"role": "assistant", "content": None, "tool_calls": [
        {"id": "c", "type": "function", "function": {"name": "finish", "arguments": json.dumps(
            {"return_type": "give_answer", "final_answer": "Lisbon."})}}]}
    [rec] = read_records([write_records(tmp_path / "d.jsonl", [record])])
    assert rec.call is None and rec.answer == "Lisbon."


def _bad(change: Any) -> dict[str, Any]:
    record = trajectory()[0]
    change(record)
    return record


BROKEN = [
    ("{not json", "not JSON"),
    ("[1, 2]", "a JSON list, not an object"),
    (json.dumps({"format": "openai.chat/1", "messages": []}), "foreign record: format"),
    (json.dumps({"messages": [{"role": "user", "content": "x"}]}), "no 'tools' field"),
    (json.dumps(_bad(lambda r: r.update(tool_call_format="json"))), "'json' format"),
    (json.dumps(_bad(lambda r: r["reply"]["tool_calls"][0]["function"].update(name="nope"))),
     "calls 'nope', which is not among the record's tools"),
    (json.dumps(_bad(lambda r: r["reply"]["tool_calls"][0]["function"].update(
        arguments="{oops"))), "arguments are not JSON"),
    (json.dumps(_bad(lambda r: r["reply"]["tool_calls"].append(r["reply"]["tool_calls"][0]))),
     "makes 2 calls"),
    (json.dumps(_bad(lambda r: r.update(reply={"role": "assistant", "content": "  "}))),
     "neither a call nor a non-empty answer"),
    (json.dumps(_bad(lambda r: r["messages"].append({"role": "assistant", "content": "x"}))),
     "the last message is the assistant's"),
    (json.dumps(_bad(lambda r: r["messages"][0].update(role="narrator"))), "role 'narrator'"),
]


@pytest.mark.parametrize(("line", "reason"), BROKEN, ids=[r for _, r in BROKEN])
def test_a_broken_or_foreign_line_is_refused_with_its_number(tmp_path: Path, line: str,
                                                             reason: str) -> None:
    path = tmp_path / "data.jsonl"
    good = json.dumps(trajectory()[0])
    path.write_text(f"{good}\n\n{line}\n{good}\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        read_records([path])
    assert info.value.line == 3 and info.value.path == str(path)
    assert reason in info.value.reason
    assert str(info.value).startswith(f"{path}:3: ")


def test_unreadable_and_empty_files_are_data_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot read"):
        read_records([tmp_path / "missing.jsonl"])
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(DataError, match="no training records"):
        read_records([tmp_path / "empty.jsonl"])
    (tmp_path / "latin.jsonl").write_bytes(json.dumps(trajectory()[0]).encode() + b"\n\xff\n")
    with pytest.raises(DataError, match="not UTF-8") as info:
        read_records([tmp_path / "latin.jsonl"])
    assert info.value.line == 2
