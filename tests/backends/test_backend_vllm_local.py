"""vLLM in-process: the request it builds, checked against a fake ``vllm`` module."""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass, field
from typing import Any

import pytest

from agentrt.backends import Sampling, VLLMLocalBackend
from agentrt.errors import BackendError, ConfigError


@dataclass
class StructuredOutputsParams:
    json: Any = None
    json_object: bool | None = None


@dataclass
class SamplingParams:
    n: int = 1
    seed: int | None = None
    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 16
    structured_outputs: StructuredOutputsParams | None = None


@dataclass
class LoRARequest:
    lora_name: str
    lora_int_id: int
    lora_path: str


@dataclass
class CompletionOutput:
    text: str
    token_ids: list[int]
    finish_reason: str = "stop"


@dataclass
class RequestOutput:
    prompt_token_ids: list[int]
    outputs: list[CompletionOutput]
    num_cached_tokens: int = 0


@dataclass
class FakeLLM:
    kwargs: dict[str, Any]
    calls: list[dict[str, Any]] = field(default_factory=list)
    fail: bool = False

    def chat(self, **request: Any) -> list[RequestOutput]:
        self.calls.append(request)
        if self.fail:
            raise RuntimeError("CUDA out of memory")
        params = request["sampling_params"]
        texts = [f'{{"thought": "t{i}", "name": "get_booking", "arguments": '
                 f'{{"reference": "R{i}"}}}}' for i in range(params.n)]
        return [RequestOutput(prompt_token_ids=list(range(50)), num_cached_tokens=48,
                              outputs=[CompletionOutput(t, [1, 2, 3]) for t in texts])]


@pytest.fixture
def fake_vllm(monkeypatch: pytest.MonkeyPatch) -> types.SimpleNamespace:
    created: list[FakeLLM] = []

    def make_llm(**kwargs: Any) -> FakeLLM:
        created.append(FakeLLM(kwargs))
        return created[-1]

    vllm = types.ModuleType("vllm")
    vllm.LLM = make_llm  # type: ignore[attr-defined]
    vllm.SamplingParams = SamplingParams  # type: ignore[attr-defined]
    sampling = types.ModuleType("vllm.sampling_params")
    sampling.StructuredOutputsParams = StructuredOutputsParams  # type: ignore[attr-defined]
    lora = types.ModuleType("vllm.lora")
    lora_request = types.ModuleType("vllm.lora.request")
    lora_request.LoRARequest = LoRARequest  # type: ignore[attr-defined]
    for name, module in [("vllm", vllm), ("vllm.sampling_params", sampling),
                         ("vllm.lora", lora), ("vllm.lora.request", lora_request)]:
        monkeypatch.setitem(sys.modules, name, module)
    return types.SimpleNamespace(created=created)


async def test_request_with_structured_outputs_and_lora(
        fake_vllm: types.SimpleNamespace, messages: list[dict[str, Any]],
        tools: list[dict[str, Any]], constraint: dict[str, Any]) -> None:
    be = VLLMLocalBackend("Qwen/Qwen2.5-7B-Instruct", lora_path="/adapters/booking",
                          llm_kwargs={"max_model_len": 8192})
    cands = await be.propose(messages, tools=tools, n=3, constraint=constraint,
                             sampling=Sampling(seed=5, temperature=0.6, max_tokens=99))
    [llm] = fake_vllm.created
    assert llm.kwargs == {"model": "Qwen/Qwen2.5-7B-Instruct", "max_model_len": 8192,
                          "enable_lora": True}
    [request] = llm.calls
    params = request["sampling_params"]
    assert (params.n, params.seed, params.temperature, params.max_tokens) == (3, 5, 0.6, 99)
    assert params.structured_outputs == StructuredOutputsParams(json=constraint)
    assert request["lora_request"] == LoRARequest("adapter", 1, "/adapters/booking")
    assert request["messages"][0]["role"] == "system"
    assert "search_flights" in request["messages"][0]["content"]
    assert request["use_tqdm"] is False
    assert [c.call.arguments for c in cands if c.call] == [{"reference": f"R{i}"} for i in range(3)]
    assert cands[0].meta["cached_prompt_tokens"] == 48
    await be.propose(messages, tools=tools)
    assert len(fake_vllm.created) == 1  # one engine, reused
    assert "lora_request" in llm.calls[1]


async def test_without_constraint_or_lora(fake_vllm: types.SimpleNamespace,
                                          messages: list[dict[str, Any]],
                                          tools: list[dict[str, Any]]) -> None:
    be = VLLMLocalBackend("m")
    await be.propose(messages, tools=tools)
    [request] = fake_vllm.created[0].calls
    assert request["sampling_params"].structured_outputs == StructuredOutputsParams(
        json_object=True)
    assert "lora_request" not in request
    assert "enable_lora" not in fake_vllm.created[0].kwargs


async def test_engine_failure_is_a_backend_error(fake_vllm: types.SimpleNamespace,
                                                 messages: list[dict[str, Any]],
                                                 tools: list[dict[str, Any]]) -> None:
    llm = FakeLLM({}, fail=True)
    be = VLLMLocalBackend("m", llm=llm)
    with pytest.raises(BackendError, match="CUDA out of memory"):
        await be.propose(messages, tools=tools)


async def test_missing_vllm_names_the_extra(monkeypatch: pytest.MonkeyPatch,
                                            messages: list[dict[str, Any]],
                                            tools: list[dict[str, Any]]) -> None:
    monkeypatch.setitem(sys.modules, "vllm", None)  # makes `import vllm` raise ImportError
    be = VLLMLocalBackend("m")
    with pytest.raises(ConfigError, match=r"pip install 'agentrt\[vllm\]'"):
        await be.propose(messages, tools=tools)
