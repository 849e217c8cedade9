"""Training text, loss spans, prefix packing and batches (no torch needed): the text of a step is
the native prompt plus the reply in the template's own form; a trajectory packs into one
sequence whose loss spans are exactly the replies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentrt.backends.native import ChatTemplate, native_messages, render_prompt
from agentrt.training.examples import (
    TokenSequence,
    make_batches,
    pack,
    reply_text,
    step_text,
    tokenize_steps,
)
from agentrt.training.records import TrainingRecord, read_records
from tests.training.tiny_model import ANSWER, TEMPLATE, trajectory, write_records

EOT = "<|im_end|>"


def _records(tmp_path: Path) -> list[TrainingRecord]:
    return read_records([write_records(tmp_path / "data.jsonl")])


def chars(text: str) -> list[int]:
    """A stand-in tokenizer: one id per character."""
    return [ord(c) for c in text]


def test_the_step_text_is_the_prompt_then_the_templates_own_reply_turn(tmp_path: Path) -> None:
    template = ChatTemplate(TEMPLATE)
    for record in _records(tmp_path):
        text = step_text(template, record, eot=EOT)
        assert text.prompt == render_prompt(template, record.messages, record.tools)
        # the template renders the same reply turn: training text = what the model would see
        turn = template.render(native_messages([*record.messages, record.reply]),
                               tools=[t for t in record.tools
                                      if t["function"]["name"] != "finish"],
                               add_generation_prompt=False)
        assert turn.startswith(text.prompt + text.target)
        assert turn[len(text.prompt + text.target):] == "\n"  # only the newline after the turn


def test_reply_forms_a_call_drops_its_thought(tmp_path: Path) -> None:
    call, answer = _records(tmp_path)
    assert reply_text(call) == ('<tool_call>\n{"name": "get_airport", "arguments": '
                                '{"code": "LIS"}}\n</tool_call>')
    assert reply_text(answer) == ANSWER
    with_thought = trajectory()[0]
    with_thought["reply"]["content"] = "I should look it up."
    [record] = read_records([write_records(tmp_path / "t.jsonl", [with_thought])])
    assert reply_text(record) == reply_text(call)  # native decoding opens a call at once


def test_a_trajectory_packs_into_one_sequence_with_both_replies(tmp_path: Path) -> None:
    template = ChatTemplate(TEMPLATE)
    texts = [step_text(template, r, eot=EOT) for r in _records(tmp_path)]
    steps = tokenize_steps(texts, chars)
    assert [len(s.spans) for s in steps] == [1, 1]
    packing = pack(steps, max_length=10_000)
    [seq] = packing.sequences
    assert packing.steps == 2 and seq.records == (0, 1)
    assert packing.tokens == len(steps[1]) < packing.tokens_before
    assert packing.target_tokens == steps[0].target_tokens + steps[1].target_tokens
    targets = ["".join(chr(i) for i in seq.ids[a:b]) for a, b in seq.spans]
    assert targets == [texts[0].target, texts[1].target]
    # each loss position predicts exactly one reply token
    positions = seq.loss_positions()
    assert len(positions) == seq.target_tokens
    assert all(any(a <= p + 1 < b for a, b in seq.spans) for p in positions)


def test_packing_keeps_every_records_weight_and_drops_long_ones() -> None:
    a = TokenSequence(ids=(1, 2, 3), spans=((2, 3),), records=(0,))
    twin = TokenSequence(ids=(1, 2, 3), spans=((2, 3),), records=(1,))
    longer = TokenSequence(ids=(1, 2, 3, 4, 5), spans=((4, 5),), records=(2,))
    other = TokenSequence(ids=(1, 9), spans=((1, 2),), records=(3,))
    huge = TokenSequence(ids=tuple(range(50)), spans=((49, 50),), records=(4,))
    packing = pack([a, twin, longer, other, huge], max_length=10)
    assert packing.dropped == (4,)
    by_records = {s.records: s for s in packing.sequences}
    assert set(by_records) == {(0, 1, 2), (3,)}  # both twins fold into the longer one
    folded = by_records[(0, 1, 2)]
    assert folded.ids == longer.ids and folded.spans == ((2, 3), (2, 3), (4, 5))
    assert folded.target_tokens == 3 and folded.loss_positions() == [1, 1, 3]
    assert packing.target_tokens == sum(s.target_tokens for s in (a, twin, longer, other))


def test_batches_are_length_sorted_deterministic_and_cover_everything() -> None:
    seqs = [TokenSequence(ids=tuple(range(n)), spans=((n - 1, n),), records=(n,))
            for n in (5, 50, 7, 48, 6, 49, 100)]
    first = make_batches(seqs, batch_tokens=110, seed=3, epoch=0, batching="length")
    assert first == make_batches(seqs, batch_tokens=110, seed=3, epoch=0, batching="length")
    assert sorted(r for b in first for s in b.sequences for r in s.records) == \
        sorted(r for s in seqs for r in s.records)
    for batch in first:
        assert batch.tokens <= 110 or len(batch.sequences) == 1
    groups = sorted(sorted(len(s) for s in b.sequences) for b in first)
    assert [5, 6, 7, 48] in groups  # short ones together, long ones apart
    other = [[s.records for s in b.sequences] for b in make_batches(
        seqs, batch_tokens=110, seed=3, epoch=1, batching="length")]
    assert sorted(map(sorted, other)) == sorted(
        sorted(s.records for s in b.sequences) for b in first)


def test_mixed_batches_mix_kinds_of_task_and_still_cover_everything() -> None:
    # ten short and ten long sequences (say lookups and trips): length batching puts the
    # short ones together; mixed batching puts short and long ones in the same steps
    seqs = [TokenSequence(ids=tuple(range(n)), spans=((n - 1, n),), records=(i,))
            for i, n in enumerate([10] * 10 + [100] * 10)]
    mixed = make_batches(seqs, batch_tokens=230, seed=0, epoch=0, batching="mixed")
    assert mixed == make_batches(seqs, batch_tokens=230, seed=0, epoch=0, batching="mixed")
    assert sorted(r for b in mixed for s in b.sequences for r in s.records) == list(range(20))
    assert all(b.tokens <= 230 or len(b.sequences) == 1 for b in mixed)
    with_both = sum(1 for b in mixed if {len(s) for s in b.sequences} == {10, 100})
    by_length = make_batches(seqs, batch_tokens=230, seed=0, epoch=0, batching="length")
    assert with_both > sum(1 for b in by_length if {len(s) for s in b.sequences} == {10, 100})
    assert mixed != make_batches(seqs, batch_tokens=230, seed=0, epoch=1,
                                 batching="mixed")  # reshuffled
    with pytest.raises(ValueError, match="batching"):
        make_batches(seqs, batch_tokens=230, seed=0, epoch=0, batching="sorted")


def test_prefix_batches_keep_sequences_that_begin_alike_together() -> None:
    # two prompts (say: flight tools, hotel tools) each followed by requests of two kinds
    # (short and long): a step holds one prompt's sequences, of both kinds
    def seq(i: int, head: int, n: int) -> TokenSequence:
        ids = (head,) * 50 + (i,) + tuple(range(n))
        return TokenSequence(ids=ids, spans=((len(ids) - 1, len(ids)),), records=(i,))

    seqs = [seq(i, 1 + i % 2, 10 if i % 4 < 2 else 100) for i in range(16)]
    batches = make_batches(seqs, batch_tokens=900, seed=0, epoch=0)
    assert batches == make_batches(seqs, batch_tokens=900, seed=0, epoch=0, batching="prefix")
    assert sorted(r for b in batches for s in b.sequences for r in s.records) == list(range(16))
    assert all(len({s.ids[0] for s in b.sequences}) == 1 for b in batches)
    assert any(len({len(s) for s in b.sequences}) == 2 for b in batches)


def test_records_survive_a_json_round_trip(tmp_path: Path) -> None:
    [call, _] = _records(tmp_path)
    again = TrainingRecord.model_validate(json.loads(call.model_dump_json()))
    assert reply_text(again) == reply_text(call)


def test_bare_style_writes_calls_as_json_in_the_target_and_the_history(tmp_path: Path) -> None:
    """``--call-style bare``: the call is the JSON object alone, and the next step's prompt
    shows that same text as the assistant's earlier turn — so a trajectory still packs into
    one sequence, and the training text is what the template renders for those turns."""
    template = ChatTemplate(TEMPLATE)
    call, answer = _records(tmp_path)
    assert reply_text(call, bare=True) == '{"name": "get_airport", "arguments": {"code": "LIS"}}'
    assert reply_text(answer, bare=True) == ANSWER
    for record in (call, answer):
        text = step_text(template, record, eot=EOT, bare=True)
        assert text.prompt == render_prompt(template, record.messages, record.tools,
                                            bare_calls=True)
        turn = template.render(native_messages([*record.messages, record.reply],
                                               bare_calls=True),
                               tools=[t for t in record.tools
                                      if t["function"]["name"] != "finish"],
                               add_generation_prompt=False)
        assert turn == text.prompt + text.target + "\n"
        assert "<tool_call>" not in text.target
    second = step_text(template, answer, eot=EOT, bare=True)
    assert reply_text(call, bare=True) + EOT in second.prompt  # the earlier call, as written
    assert "<tool_call>\n{" not in second.prompt.split("<|im_start|>assistant", 1)[-1]
    [seq] = pack(tokenize_steps([step_text(template, r, eot=EOT, bare=True)
                                 for r in (call, answer)], chars), max_length=10_000).sequences
    assert len(seq.spans) == 2
