"""Backends stage: model backends behind one async protocol, and the model syntax that names them.

``load_backend`` turns the one model string used everywhere (CLI ``--model``, config files)
into a backend. Heavy dependencies (llama-cpp-python, vLLM) are imported only when a backend
that needs them is used.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from agentrt.backends.base import (
    FINISH,
    FINISH_TOOL,
    Backend,
    Candidate,
    Capabilities,
    Message,
    Sampling,
    ToolCall,
)
from agentrt.backends.embedded import EmbeddedBackend, EmbeddedStats
from agentrt.backends.openai_http import OpenAIBackend, RetryPolicy
from agentrt.backends.parsing import parse_message, parse_text
from agentrt.backends.vllm_local import VLLMLocalBackend
from agentrt.errors import ConfigError

__all__ = [
    "FINISH",
    "FINISH_TOOL",
    "MODEL_FORMS",
    "Backend",
    "Candidate",
    "Capabilities",
    "EmbeddedBackend",
    "EmbeddedStats",
    "Message",
    "OpenAIBackend",
    "RetryPolicy",
    "Sampling",
    "ToolCall",
    "VLLMLocalBackend",
    "load_backend",
    "parse_message",
    "parse_text",
]

#: The accepted model strings, as shown in error messages and ``--help``.
MODEL_FORMS = (
    "embedded                             the default model (Qwen2.5-Coder-0.5B, llama.cpp, CPU)",
    "embedded:/path/model.gguf            any GGUF file, llama.cpp on the CPU",
    "openai:http://host:8000/v1#model     any OpenAI-compatible server",
    "vllm:http://host:8000/v1#model       a vLLM server (vllm serve)",
    "llamacpp:http://host:8000/v1#model   llama.cpp's server (python -m llama_cpp.server)",
    "vllm-local:MODEL[@lora=/path]        vLLM in this process (GPU, agentrt[vllm])",
)


def _bad(text: str, why: str) -> ConfigError:
    forms = "\n  ".join(MODEL_FORMS)
    return ConfigError(f"bad model {text!r}: {why}. Use one of:\n  {forms}")


def load_backend(text: str = "embedded", **options: Any) -> Backend:
    """Build the backend a model string names; ``options`` go to its constructor.

    >>> load_backend("vllm:http://gpu-box:8000/v1#qwen-booking")  # doctest: +SKIP
    """
    text = (text or "").strip()
    kind, sep, rest = text.partition(":")
    kind = kind.lower()
    if kind == "embedded":
        if sep and not rest:
            raise _bad(text, "embedded: needs a path after the colon")
        return EmbeddedBackend(rest or None, **options)
    if kind in ("openai", "vllm", "llamacpp"):
        url, _, model = rest.partition("#")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise _bad(text, f"{kind}: needs an http(s) URL such as http://host:8000/v1")
        return OpenAIBackend(url, model or None, flavour=kind, **options)  # type: ignore[arg-type]
    if kind == "vllm-local":
        model, _, lora = rest.partition("@lora=")
        if not model:
            raise _bad(text, "vllm-local: needs a model name or directory")
        return VLLMLocalBackend(model, lora_path=lora or None, **options)
    raise _bad(text, f"unknown backend kind {kind!r}")
