"""A reply that falls into a loop is stopped early and reported, not generated to max_tokens."""

from __future__ import annotations

import types

import numpy as np
import pytest

from agentrt.backends.native_decode import NativeReply, to_candidate
from agentrt.backends.runaway import RunawayStop


def test_stops_on_a_short_block_repeated_over_the_window() -> None:
    prompt = list(range(100, 140))  # the prompt never counts, however repetitive
    stop = RunawayStop(len(prompt), window=12, max_period=3)
    ids = [*prompt]
    for token in [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]:  # ordinary text: no
        ids.append(token)
        assert not stop(np.array(ids))
    for _ in range(11):  # "1 2 1 2 …": period 2, not yet a whole window of it
        ids.append(1 if len(ids) % 2 else 2)
        assert not stop(np.array(ids))
    ids.append(1 if len(ids) % 2 else 2)
    assert stop(np.array(ids)) and stop.fired and stop.period == 2
    assert stop(np.array(ids[:10]))  # once fired, it stays fired (llama.cpp asks again)


def test_a_repetitive_prompt_or_a_long_period_does_not_fire() -> None:
    stop = RunawayStop(32, window=12, max_period=3)
    assert not stop(np.zeros(40, dtype=np.intc))  # 8 generated tokens: under the window
    block = [1, 2, 3, 4]  # period 4 > max_period
    assert not RunawayStop(0, window=12, max_period=3)(np.array(block * 4))
    with pytest.raises(ValueError):
        RunawayStop(0, window=6, max_period=3)


def test_a_runaway_reply_is_an_unparseable_candidate_with_its_reason() -> None:
    fmt = types.SimpleNamespace(detokenize=lambda tokens: "")
    reply = NativeReply(is_call=False, head=(), body="BUD14300000000000000000000",
                        finish="runaway", completion_tokens=40)
    cand = to_candidate(reply, fmt, [], {}, 384)  # type: ignore[arg-type]
    assert cand.kind == "unparseable"
    assert "loop" in (cand.error or "") and cand.raw.startswith("BUD143")


@pytest.mark.model
async def test_the_real_model_is_stopped_in_a_loop_long_before_max_tokens() -> None:
    """llama-cpp-python's generate loop (with the backend's decoding shortcuts installed)
    calls the criterion per token: a prompt that invites an endless row of zeros ends after
    about one window, not at max_tokens."""
    from agentrt.backends import EmbeddedBackend

    be = EmbeddedBackend(n_ctx=512)
    try:
        with be._model_lock:
            llm = be._load_locked()
            prompt = llm.tokenize(b"0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0")
            stop = RunawayStop(len(prompt))
            from llama_cpp import StoppingCriteriaList

            out = llm.create_completion(prompt=prompt, max_tokens=200, temperature=0.0,
                                        stopping_criteria=StoppingCriteriaList([stop]))
    finally:
        await be.aclose()
    used = out["usage"]["completion_tokens"]
    assert stop.fired, out["choices"][0]["text"]
    assert used < 60, used
