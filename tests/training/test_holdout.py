"""Held-out tasks: whole tasks are split off deterministically, and base and adapter are scored
on them by teacher forcing (loss, replies written exactly, first token, tool name)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from agentrt.errors import ConfigError
from agentrt.training.examples import TokenSequence
from agentrt.training.holdout import name_spans, split_holdout, task_key
from agentrt.training.records import TrainingRecord, read_records
from tests.training import tiny_model as tm


def _tasks(n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        for record in tm.trajectory():
            record = copy.deepcopy(record)
            record["provenance"]["task_id"] = f"t{i}"
            out.append(record)
    return out


def _records(tmp_path: Path, n: int) -> list[TrainingRecord]:
    return read_records([tm.write_records(tmp_path / "data.jsonl", _tasks(n))])


def test_whole_tasks_are_held_out_deterministically(tmp_path: Path) -> None:
    records = _records(tmp_path, 20)
    train, held = split_holdout(records, 0.2, seed=0)
    assert len(held) == 8 and len(train) == 32  # 4 tasks of 2 steps
    assert not {task_key(r) for r in train} & {task_key(r) for r in held}
    again = split_holdout(records, 0.2, seed=0)[1]
    assert [task_key(r) for r in again] == [task_key(r) for r in held]
    other = split_holdout(records, 0.2, seed=1)[1]
    assert {task_key(r) for r in other} != {task_key(r) for r in held}
    assert split_holdout(records, 0.0) == (records, [])
    assert len(split_holdout(records[:2], 0.5)[1]) == 0  # one task: nothing to hold out
    for bad in (-0.1, 1.0):
        with pytest.raises(ConfigError, match="holdout"):
            split_holdout(records, bad)


def test_name_spans_cover_the_reply_up_to_the_tool_name() -> None:
    def decode(ids: list[int]) -> str:
        return "".join(chr(i) for i in ids)

    prompt = "<user>hi</user>"
    for reply in ('{"name": "get_airport", "arguments": {}}',
                  '<tool_call>\n{"name": "get_airport", "arguments": {}}\n</tool_call>'):
        ids = tuple(ord(c) for c in prompt + reply + "|" + "It is Lisbon.")
        call = (len(prompt), len(prompt) + len(reply))
        answer = (call[1] + 1, len(ids))
        seq = TokenSequence(ids=ids, spans=(call, answer), records=(0, 1))
        spans = name_spans(seq, decode)
        assert list(spans) == [call]
        start, end = spans[call]
        assert decode(list(ids[start:end])).endswith('"name": "get_airport"')


EXTRA = "the training tests need the train extra: pip install 'agentrt[train]'"


def test_finetune_scores_base_and_adapter_on_held_out_tasks(tmp_path: Path) -> None:
    """Tasks that are copies of the training ones: the adapter must write them exactly and
    the random base must not — the scores can tell a trained adapter from an untrained one."""
    pytest.importorskip("torch", reason=EXTRA)
    pytest.importorskip("peft", reason=EXTRA)
    pytest.importorskip("gguf", reason=EXTRA)
    from agentrt.training.pipeline import finetune
    from agentrt.training.trainer import LoraSettings, TrainSettings

    base = tm.write_tiny_gguf(tmp_path / "tiny.gguf")
    data = tm.write_records(tmp_path / "data.jsonl", _tasks(5))
    manifest = finetune([data], tmp_path / "out", base=base, lora=LoraSettings(r=8, alpha=16),
                        settings=TrainSettings(epochs=40, learning_rate=1e-2,
                                               checkpoint_every=40, precision="fp32"),
                        holdout=0.2, call_style="bare", calibrate=True)
    ev = manifest.evaluation
    assert (ev["tasks"], ev["records"], manifest.data["records"]) == (1, 2, 8)
    tuned, stock = ev["adapter"], ev["base"]
    assert tuned["replies"] == stock["replies"] == 2 and tuned["tokens"] > 10
    assert tuned["loss"] < stock["loss"] / 5
    assert tuned["exact"] == 1.0 and tuned["tool"] == 1.0 and tuned["first"] == 1.0
    assert stock["exact"] == 0.0
    assert manifest.decoding == {"call_style": "bare"}  # no <tool_call> bias for bare calls
