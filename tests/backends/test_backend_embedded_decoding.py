"""The embedded backend's decoding shortcuts change the cost, never the output: the grammar
checked on the sampled token only, and prompt-lookup drafts verified in one batch."""

from __future__ import annotations

import difflib
import types
from typing import Any

import numpy as np
import pytest

from agentrt.backends import EmbeddedBackend, Sampling
from agentrt.backends.llama_sampling import PromptLookup


def test_prompt_lookup_drafts_what_followed_the_latest_occurrence() -> None:
    draft = PromptLookup(max_draft=3, max_ngram=3, min_ngram=2)
    #            0  1  2  3  4  5  6  7  8  9 10
    ids = np.array([5, 6, 7, 1, 2, 5, 6, 9, 8, 4, 5, 6], dtype=np.intc)
    # the tail (5, 6) occurred at 0 (then 7 1 2) and at 5 (then 9 8 4): the latest wins
    assert draft(ids).tolist() == [9, 8, 4]
    # a longer n-gram beats a more recent shorter one
    ids = np.array([1, 2, 3, 7, 7, 9, 2, 3, 8, 8, 1, 2, 3], dtype=np.intc)
    assert draft(ids).tolist() == [7, 7, 9]
    assert draft(np.array([1, 2, 3, 4], dtype=np.intc)).tolist() == []  # nothing repeats
    assert draft(np.array([3], dtype=np.intc)).tolist() == []
    # the draft stops at the end of what is known
    assert PromptLookup(max_draft=8)(np.array([4, 5, 6, 4, 5], dtype=np.intc)).tolist() == [6, 4, 5]


class _Batch:
    def __init__(self) -> None:
        self.batch = types.SimpleNamespace(logits=[False] * 16)
        self.calls: list[tuple[list[int], int]] = []

    def set_batch(self, batch: list[int], n_past: int, logits_all: bool) -> None:
        self.calls.append((list(batch), n_past))
        self.batch.logits = [logits_all] * (len(batch) - 1) + [True]


class _Ctx:
    def __init__(self, batch: _Batch) -> None:
        self.batch = batch
        self.decoded: list[list[bool]] = []
        self.removed: list[int] = []

    def kv_cache_seq_rm(self, seq: int, p0: int, p1: int) -> None:
        self.removed.append(p0)

    def decode(self, batch: _Batch) -> None:
        self.decoded.append(list(batch.batch.logits))


def test_lookahead_eval_computes_logits_only_where_the_sampler_reads_them() -> None:
    """The prompt: logits for its last ``lookahead + 1`` tokens only (not all of them, as
    ``logits_all`` would); a token and its draft: logits for each of them."""
    from agentrt.backends.llama_sampling import DecodeStats, _install_eval

    batch = _Batch()
    llm = types.SimpleNamespace(_ctx=_Ctx(batch), _batch=batch, n_batch=4, n_tokens=0,
                                input_ids=np.zeros(64, dtype=np.intc), _requires_eval=True,
                                draft_model=None)
    stats = DecodeStats()
    _install_eval(llm, 2, stats, None)
    assert isinstance(llm.draft_model, PromptLookup) and llm.draft_model.max_draft == 2
    stats.prompt_next = True
    llm.eval(list(range(10, 20)))  # a 10-token prompt in batches of 4, 4, 2
    assert [c[1] for c in batch.calls] == [0, 4, 8]
    assert llm._ctx.decoded == [[False, False, False, False], [False, False, False, True],
                                [True, True]]
    assert llm.n_tokens == 10 and llm.input_ids[:10].tolist() == list(range(10, 20))
    llm.eval([7, 8, 9])  # a sampled token and a draft of two
    assert llm._ctx.decoded[-1] == [True, True, True]
    assert llm._ctx.removed == [0, 10]  # anything after the known tokens is dropped first
    assert stats.evals == 2 and stats.drafted == 2 and stats.batches == 4
    assert 0 <= stats.prompt_seconds <= stats.eval_seconds and not stats.prompt_next


def _similar(a: str, b: str) -> float:
    return difflib.SequenceMatcher(a=a, b=b).ratio()


@pytest.mark.model
async def test_shortcuts_give_the_same_greedy_steps(tools: list[dict[str, Any]],
                                                    constraint: dict[str, Any]) -> None:
    """Greedy decoding through llama-cpp-python's own sampler and token-by-token decoding, and
    through the lazy grammar with drafts: the same steps (batched and single-token kernels
    differ in rounding, so a near-tie may go the other way: same call, similar text), in
    fewer decode batches."""
    conversations: list[list[dict[str, Any]]] = [
        [{"role": "user", "content": "Find flights from Paris CDG to New York JFK on "
                                     "2026-12-01."}],
        [{"role": "user", "content": "Show me booking ABC123, then booking ABC124."},
         {"role": "assistant", "content": "", "tool_calls": [{
             "id": "c1", "type": "function", "function": {
                 "name": "get_booking", "arguments": '{"reference": "ABC123"}'}}]},
         {"role": "tool", "tool_call_id": "c1",
          "content": '{"reference": "ABC123", "status": "confirmed"}'}],
    ]
    steps: dict[str, list[tuple[str, str]]] = {}
    evals, generated = 0, 0
    for label, kw in (("stock", {"lazy_grammar": False, "lookahead": 0}),
                      ("fast", {"lazy_grammar": True, "lookahead": 4})):
        be = EmbeddedBackend(n_ctx=2048, thought_max_chars=60, **kw)  # type: ignore[arg-type]
        try:
            for messages in conversations:
                [cand] = await be.propose(messages, tools=tools, constraint=constraint,
                                          sampling=Sampling(temperature=0.0, max_tokens=96))
                assert cand.kind in ("call", "answer"), cand
                name = cand.call.name if cand.call else "(answer)"
                steps.setdefault(label, []).append((name, cand.raw))
                if label == "fast":
                    generated += cand.meta["completion_tokens"]
            if label == "fast":
                assert be._decode_stats is not None
                evals = be._decode_stats.evals
        finally:
            await be.aclose()
    for (name_s, raw_s), (name_f, raw_f) in zip(steps["stock"], steps["fast"], strict=True):
        assert name_f == name_s
        assert _similar(raw_f, raw_s) > 0.6, (raw_f, raw_s)
    # drafts were taken: fewer evaluations (prompts and batches) than generated tokens
    assert 0 < evals < generated
