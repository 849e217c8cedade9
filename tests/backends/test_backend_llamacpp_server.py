"""The HTTP backend against a real ``python -m llama_cpp.server`` process on loopback.

llama.cpp's server speaks the protocol vLLM speaks but ignores ``n``: the backend must notice
and top the candidates up with further requests (distinct seeds).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from agentrt.backends import OpenAIBackend, Sampling
from agentrt.backends.prompting import bound_thought
from agentrt.errors import BackendError

pytestmark = pytest.mark.model


async def test_health_and_wrong_model_name(llama_server: str) -> None:
    be = OpenAIBackend(llama_server, None, flavour="llamacpp")
    try:
        assert await be.check() == ["qwen-default"]
        assert be.model == "qwen-default"
    finally:
        await be.aclose()
    wrong = OpenAIBackend(llama_server, "qwen-7b", flavour="llamacpp")
    try:
        with pytest.raises(BackendError, match=r"does not serve model 'qwen-7b'.*qwen-default"):
            await wrong.check()
    finally:
        await wrong.aclose()


async def test_constrained_steps_and_n_fallback(llama_server: str,
                                                tools: list[dict[str, Any]]) -> None:
    tools = [t for t in tools if t["function"]["name"] != "search_flights"]  # keep it short
    constraint = {"anyOf": [{
        "type": "object",
        "properties": {"thought": {"type": "string"}, "name": {"const": t["function"]["name"]},
                       "arguments": t["function"]["parameters"]},
        "required": ["thought", "name", "arguments"], "additionalProperties": False,
    } for t in tools]}
    be = OpenAIBackend(llama_server, "qwen-default", flavour="llamacpp")
    try:
        cands = await be.propose(
            [{"role": "user", "content": "Show me booking ABC123."}], tools=tools, n=2,
            constraint=bound_thought(constraint, 32),
            sampling=Sampling(seed=3, temperature=0.7, max_tokens=64))
    finally:
        await be.aclose()
    assert len(cands) == 2
    assert be.honours_n is False
    assert be.requests == 2
    assert [c.meta["seed"] for c in cands] == [3, 4]
    names = {t["function"]["name"] for t in tools}
    for cand in cands:
        step = json.loads(cand.raw)
        assert step["name"] in names
        assert cand.kind in ("call", "answer", "give_up")
