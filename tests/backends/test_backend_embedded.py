"""The embedded llama.cpp backend: request handling on a stand-in, and one real generation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agentrt.backends import EmbeddedBackend, Sampling
from agentrt.backends.prompting import bound_thought
from agentrt.errors import ConfigError

pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (agentrt[embedded])")


class FakeLlama:
    """Stands in for ``llama_cpp.Llama``: tokens are characters; the KV cache is ``input_ids``."""

    def __init__(self) -> None:
        self.input_ids: list[int] = []
        self.n_tokens = 0
        self.calls: list[dict[str, Any]] = []

    def create_chat_completion(self, **kw: Any) -> dict[str, Any]:
        self.calls.append(kw)
        prompt = [ord(c) for m in kw["messages"] for c in f"{m['role']}:{m['content']}\n"]
        text = json.dumps({"thought": f"seed {kw['seed']}", "name": "get_booking",
                           "arguments": {"reference": str(kw["seed"])}})
        self.input_ids = prompt + [ord(c) for c in text]
        self.n_tokens = len(self.input_ids)
        return {"choices": [{"message": {"content": text}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": len(prompt), "completion_tokens": len(text)}}


async def test_k_candidates_by_seed_and_prefix_reuse(messages: list[dict[str, Any]],
                                                     tools: list[dict[str, Any]],
                                                     constraint: dict[str, Any]) -> None:
    fake = FakeLlama()
    be = EmbeddedBackend(llama=fake)
    cands = await be.propose(messages, tools=tools, n=3, constraint=constraint,
                             sampling=Sampling(seed=40, max_tokens=50))
    assert [c.call.arguments for c in cands if c.call] == [{"reference": "40"},
                                                           {"reference": "41"},
                                                           {"reference": "42"}]
    assert [call["seed"] for call in fake.calls] == [40, 41, 42]
    assert all(call["max_tokens"] == 50 and call["grammar"] is not None for call in fake.calls)
    first, second = cands[0].meta, cands[1].meta
    assert first["reused_prompt_tokens"] == 0
    # same prompt again: all but the replayed last token comes from the cache
    assert second["reused_prompt_tokens"] == second["prompt_tokens"] - 1
    # a DFS child: same prefix, another tail
    child = [*messages, {"role": "assistant", "content": "{}"},
             {"role": "user", "content": "Observation: []"}]
    [cand] = await be.propose(child, tools=tools, constraint=constraint)
    prefix = sum(len(f"{m['role']}:{m['content']}\n") for m in fake.calls[0]["messages"])
    assert cand.meta["reused_prompt_tokens"] == prefix
    stats = be.stats
    assert stats.completions == 4
    assert 0.5 < stats.reuse_ratio < 1
    assert be._grammars and len(be._grammars) == 1  # compiled once


def test_bound_thought(constraint: dict[str, Any]) -> None:
    bounded = bound_thought(constraint, 100)
    assert bounded is not None
    assert all(b["properties"]["thought"]["maxLength"] == 100 for b in bounded["anyOf"])
    assert "maxLength" not in constraint["anyOf"][0]["properties"]["thought"]  # not mutated
    assert bound_thought(constraint, None) is constraint


def _short(tools: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The tools without the long search one, and the step constraint over them."""
    tools = [t for t in tools if t["function"]["name"] != "search_flights"]
    return tools, {"anyOf": [{
        "type": "object",
        "properties": {"thought": {"type": "string"}, "name": {"const": t["function"]["name"]},
                       "arguments": t["function"]["parameters"]},
        "required": ["thought", "name", "arguments"], "additionalProperties": False,
    } for t in tools]}


@pytest.mark.model
async def test_real_constrained_generation(tools: list[dict[str, Any]]) -> None:
    """One short grammar-constrained JSON step from the default model (Qwen2.5-Coder-0.5B)."""
    tools, constraint = _short(tools)
    be = EmbeddedBackend(n_ctx=2048, thought_max_chars=32, tool_format="json")
    try:
        [cand] = await be.propose(
            [{"role": "user", "content": "Show me booking ABC123."}], tools=tools,
            constraint=constraint, sampling=Sampling(seed=1, temperature=0.2, max_tokens=64))
    finally:
        await be.aclose()
    assert cand.kind in ("call", "answer", "give_up"), cand  # the grammar allows nothing else
    assert cand.meta["finish_reason"] == "stop"
    step = json.loads(cand.raw)
    assert list(step) == ["thought", "name", "arguments"]
    assert step["name"] in {t["function"]["name"] for t in tools}
    assert len(step["thought"]) <= 32
    if cand.call is not None:
        assert isinstance(cand.call.arguments, dict)
    assert be.stats.completion_tokens > 0


@pytest.mark.model
async def test_real_native_call_and_answer(tools: list[dict[str, Any]]) -> None:
    """The default format: the GGUF's own template with the tools, a ``<tool_call>`` reply
    decoded under the call grammar; with nothing to call the reply is a plain-text answer."""
    tools, constraint = _short(tools)
    be = EmbeddedBackend(n_ctx=2048)
    assert be.capabilities.tool_call_format == "native"
    system = {"role": "system", "content": "Use the tools."}
    try:
        [cand] = await be.propose(
            [system, {"role": "user", "content": "Show me booking ABC123."}], tools=tools,
            constraint=constraint, sampling=Sampling(seed=1, temperature=0.0, max_tokens=64))
        [free] = await be.propose(
            [system, {"role": "user", "content": "Say hello."}], tools=[], constraint=None,
            sampling=Sampling(seed=1, temperature=0.0, max_tokens=16))
    finally:
        await be.aclose()
    assert cand.meta["format"] == "native" and cand.meta["finish_reason"] == "stop"
    assert cand.kind == "call", cand
    assert cand.raw.startswith("<tool_call>\n") and cand.raw.endswith("\n</tool_call>")
    assert cand.call is not None and cand.call.name in {t["function"]["name"] for t in tools}
    assert isinstance(cand.call.arguments, dict)
    assert free.kind == "answer" and free.answer and "<tool_call>" not in free.answer


@pytest.mark.model
async def test_real_native_call_in_the_bare_style(tools: list[dict[str, Any]]) -> None:
    """``call_style="bare"`` (an adapter trained with ``--call-style bare``): no
    ``<tool_call>`` is put before the call; the grammar writes the JSON object from its first
    token, and the prompt shows earlier calls the same way."""
    tools, constraint = _short(tools)
    be = EmbeddedBackend(n_ctx=2048, call_style="bare")
    system = {"role": "system", "content": "Use the tools."}
    try:
        [cand] = await be.propose(
            [system, {"role": "user", "content": "Show me booking ABC123."}], tools=tools,
            constraint=constraint, sampling=Sampling(seed=1, temperature=0.0, max_tokens=64))
        fmt = be._native
        assert fmt.bare_calls
        assert cand.meta["format"] == "native" and cand.meta["finish_reason"] == "stop"
        assert cand.kind == "call", cand
        assert cand.call is not None
        assert cand.call.name in {t["function"]["name"] for t in tools}
        assert cand.meta["completion_tokens"] > 3  # the whole object came from the grammar
        earlier = {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c0", "type": "function", "function": {
                "name": cand.call.name, "arguments": json.dumps(cand.call.arguments)}}]}
        result = {"role": "tool", "tool_call_id": "c0", "content": "{}"}
        prompt = fmt.detokenize(fmt.prompt([system, {"role": "user", "content": "x"}, earlier,
                                            result], tools))
    finally:
        await be.aclose()
    assert f'<|im_start|>assistant\n{{"name": "{cand.call.name}", "arguments": ' in prompt
    assert "<tool_call>\n{" not in prompt.split("<|im_start|>user\nx", 1)[1]
    with pytest.raises(ConfigError, match="call_style"):
        EmbeddedBackend(n_ctx=2048, call_style="fenced")


@pytest.mark.model
async def test_real_native_call_only_opens_a_call(tools: list[dict[str, Any]]) -> None:
    """A call-only constraint (``CALL_ONLY``: an answer was refused because work is left):
    the reply is a call under the grammar even where the model would answer in words."""
    from agentrt.protocol import CALL_ONLY

    tools, constraint = _short(tools)
    be = EmbeddedBackend(n_ctx=2048)
    system = {"role": "system", "content": "Use the tools when they help."}
    chat = [system, {"role": "user", "content": "Thanks, that is all. Say goodbye."}]
    try:
        [free] = await be.propose(chat, tools=tools, constraint=constraint,
                                  sampling=Sampling(seed=1, temperature=0.0, max_tokens=24))
        [forced] = await be.propose(chat, tools=tools, constraint={**constraint, CALL_ONLY: True},
                                    sampling=Sampling(seed=1, temperature=0.0, max_tokens=64))
    finally:
        await be.aclose()
    assert free.kind == "answer", free  # left alone, the model says goodbye
    assert forced.kind == "call", forced
    assert forced.call is not None and forced.call.name in {t["function"]["name"] for t in tools}
