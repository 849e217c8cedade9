"""Backends stage: model backends behind one async protocol, and the model syntax that names them.

``load_backend`` turns the one model string used everywhere (CLI ``--model``, config files)
into a backend; `MODEL_FORMS` lists the strings it accepts. The backend modules (and httpx,
llama-cpp-python, vLLM) are imported only when a backend that needs them is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any
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
from agentrt.errors import ConfigError

if TYPE_CHECKING:
    from agentrt.backends.embedded import EmbeddedBackend, EmbeddedStats
    from agentrt.backends.openai_http import OpenAIBackend
    from agentrt.backends.parsing import parse_message, parse_text
    from agentrt.backends.vllm_local import VLLMLocalBackend
    from agentrt.retrying import RetryPolicy

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
    "model_forms_text",
    "parse_message",
    "parse_text",
]

#: Names imported on first use, so that ``from agentrt.backends import MODEL_FORMS`` (the CLI's
#: help) does not load httpx or the backend modules.
_LAZY = {
    "EmbeddedBackend": "agentrt.backends.embedded",
    "EmbeddedStats": "agentrt.backends.embedded",
    "OpenAIBackend": "agentrt.backends.openai_http",
    "VLLMLocalBackend": "agentrt.backends.vllm_local",
    "parse_message": "agentrt.backends.parsing",
    "parse_text": "agentrt.backends.parsing",
    "RetryPolicy": "agentrt.retrying",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


#: Every model string `load_backend` accepts, as ``(form, example, description)``: the one list
#: the CLI's ``--model`` help, error messages and docs are made from.
MODEL_FORMS: tuple[tuple[str, str, str], ...] = (
    ("embedded", "embedded",
     "the default model (Qwen2.5-Coder-0.5B, llama.cpp, CPU; the demo adds its adapter)"),
    ("embedded:base", "embedded:base",
     "the stock default model, never an adapter"),
    ("embedded:PATH[@lora=ADAPTER]", "embedded:/path/model.gguf[@lora=/path]",
     "any GGUF file (and a LoRA adapter), llama.cpp on the CPU"),
    ("openai:URL#MODEL", "openai:http://host:8000/v1#model",
     "any OpenAI-compatible server"),
    ("vllm:URL#MODEL", "vllm:http://host:8000/v1#model",
     "a vLLM server (vllm serve, port 8000)"),
    ("llamacpp:URL#MODEL", "llamacpp:http://host:8080/v1#model",
     "llama.cpp's llama-server (python -m llama_cpp.server: port 8000)"),
    ("vllm-local:MODEL[@lora=PATH]", "vllm-local:MODEL[@lora=/path]",
     "vLLM in this process (GPU, agentrt[vllm])"),
)


def model_forms_text(indent: str = "  ") -> str:
    """The forms as aligned lines ``example  description`` (for help and error messages)."""
    width = max(len(example) for _, example, _ in MODEL_FORMS)
    return "\n".join(f"{indent}{example.ljust(width)}  {description}"
                     for _, example, description in MODEL_FORMS)


def _bad(text: str, why: str) -> ConfigError:
    return ConfigError(f"bad model {text!r}: {why}. Use one of:\n{model_forms_text()}")


def load_backend(text: str = "embedded", **options: Any) -> Backend:
    """Build the backend a model string names; ``options`` go to its constructor.

    >>> load_backend("vllm:http://gpu-box:8000/v1#qwen-booking")  # doctest: +SKIP
    """
    text = (text or "").strip()
    kind, sep, rest = text.partition(":")
    kind = kind.lower()
    if kind.startswith("embedded"):
        # embedded[:PATH|:base][@lora=ADAPTER]
        body, at, lora = text.partition("@lora=")
        kind, sep, rest = body.partition(":")
        if kind.lower() != "embedded":
            raise _bad(text, f"unknown backend kind {kind!r}")
        if sep and not rest:
            raise _bad(text, "embedded: needs a path (or 'base') after the colon")
        if at and not lora:
            raise _bad(text, "@lora= needs the path of a GGUF adapter")
        from agentrt.backends.embedded import EmbeddedBackend

        path = None if rest in ("", "base") else rest
        if lora:
            options = {**options, "lora_path": lora}
        backend = EmbeddedBackend(path, **options)
        if rest == "base":
            backend.name = "embedded:base" + (f"@lora={lora}" if lora else "")
        return backend
    if kind in ("openai", "vllm", "llamacpp"):
        url, _, model = rest.partition("#")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise _bad(text, f"{kind}: needs an http(s) URL such as http://host:8000/v1")
        from agentrt.backends.openai_http import OpenAIBackend

        return OpenAIBackend(url, model or None, flavour=kind, **options)  # type: ignore[arg-type]
    if kind == "vllm-local":
        model, _, lora = rest.partition("@lora=")
        if not model:
            raise _bad(text, "vllm-local: needs a model name or directory")
        from agentrt.backends.vllm_local import VLLMLocalBackend

        return VLLMLocalBackend(model, lora_path=lora or None, **options)
    raise _bad(text, f"unknown backend kind {kind!r}")
