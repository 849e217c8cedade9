"""The model syntax: ``load_backend`` turns one string into a backend, or a ConfigError."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentrt.backends import (
    MODEL_FORMS,
    Backend,
    EmbeddedBackend,
    OpenAIBackend,
    VLLMLocalBackend,
    load_backend,
    model_forms_text,
)
from agentrt.errors import ConfigError


async def test_embedded_forms() -> None:
    default = load_backend("embedded")
    assert isinstance(default, EmbeddedBackend)
    assert isinstance(default, Backend)
    assert default.name == "embedded"
    assert load_backend().name == "embedded"
    custom = load_backend("embedded:/models/x.gguf", n_ctx=2048)
    assert custom.name == "embedded:/models/x.gguf"
    stock = load_backend("embedded:base")
    assert (stock.name, stock.lora_path, stock._model_path) == ("embedded:base", None, None)


def test_embedded_lora_forms(tmp_path: Path) -> None:
    adapter = tmp_path / "adapter.gguf"
    adapter.write_bytes(b"GGUF")
    tuned = load_backend(f"embedded@lora={adapter}")
    assert isinstance(tuned, EmbeddedBackend)
    assert (tuned.lora_path, tuned._model_path) == (adapter, None)
    assert tuned.name == f"embedded@lora={adapter}"
    on_path = load_backend(f"embedded:/models/x.gguf@lora={adapter}")
    assert (on_path.lora_path, on_path._model_path) == (adapter, Path("/models/x.gguf"))
    with pytest.raises(ConfigError, match="LoRA adapter not found"):
        load_backend(f"embedded@lora={tmp_path / 'missing.gguf'}")
    with pytest.raises(ConfigError, match="@lora= needs"):
        load_backend("embedded@lora=")


async def test_http_forms() -> None:
    vllm = load_backend("vllm:http://gpu:8000/v1#qwen-booking")
    assert isinstance(vllm, OpenAIBackend)
    assert (vllm.base_url, vllm.model, vllm.flavour, vllm.mode) == (
        "http://gpu:8000/v1", "qwen-booking", "vllm", "tools")
    assert vllm.capabilities.native_n
    plain = load_backend("openai:https://llm.example/v1/", mode="json")
    assert isinstance(plain, OpenAIBackend)
    assert (plain.model, plain.flavour, plain.mode) == (None, "openai", "json")
    assert not plain.capabilities.native_n
    llamacpp = load_backend("llamacpp:http://127.0.0.1:8080/v1#m")
    assert isinstance(llamacpp, OpenAIBackend)
    assert llamacpp.mode == "json"
    for be in (vllm, plain, llamacpp):
        await be.aclose()


def test_vllm_local_form() -> None:
    be = load_backend("vllm-local:Qwen/Qwen2.5-7B-Instruct@lora=/adapters/booking")
    assert isinstance(be, VLLMLocalBackend)
    assert (be.model, be.lora_path) == ("Qwen/Qwen2.5-7B-Instruct", "/adapters/booking")
    assert load_backend("vllm-local:/models/ft").lora_path is None  # type: ignore[attr-defined]


@pytest.mark.parametrize("text", ["gpt-4", "vllm:gpu:8000", "openai:ftp://x/v1#m", "embedded:",
                                  "vllm-local:", "vllm-local:@lora=/x", "ollama:http://x/v1",
                                  "vllm:#model"])
def test_bad_strings_list_the_forms(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_backend(text)
    message = str(info.value)
    assert repr(text) in message
    for _, example, description in MODEL_FORMS:
        assert example in message and description in message


async def test_model_forms_are_one_list_and_every_example_loads() -> None:
    assert all(len(row) == 3 and all(isinstance(x, str) and x for x in row)
               for row in MODEL_FORMS)
    kinds = [form.split(":")[0] for form, _, _ in MODEL_FORMS]
    assert kinds == ["embedded", "embedded", "embedded", "openai", "vllm", "llamacpp",
                     "vllm-local"]
    examples = dict(zip(kinds[1:], [e for _, e, _ in MODEL_FORMS[1:]], strict=True))
    assert examples["llamacpp"] == "llamacpp:http://host:8080/v1#model", "llama-server's port"
    for _, example, _ in MODEL_FORMS:
        be = load_backend(example.replace("[@lora=/path]", ""))
        if isinstance(be, OpenAIBackend):
            await be.aclose()
    lines = model_forms_text().splitlines()
    assert len(lines) == len(MODEL_FORMS) and all(line.startswith("  ") for line in lines)
