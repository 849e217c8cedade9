"""Training stage: the base model to fine-tune — a GGUF file (the shipped default, dequantized by
transformers' GGUF loader) or a local Hugging Face directory — its chat template, end-of-turn
token and tokenizer.

The tokenizer transformers rebuilds from a GGUF keeps only ``<|endoftext|>``, ``<|im_start|>``
and ``<|im_end|>`` whole; llama.cpp also keeps the file's other control and user-defined tokens
whole (``<tool_call>``, ``</tool_call>``, …). Those are added back here, so training sees the
token ids the embedded backend feeds llama.cpp (a test compares the two on real prompts).
Needs the training extra; nothing here is imported before a command uses it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from agentrt.errors import ConfigError
from agentrt.training.errors import require

__all__ = ["BaseModelInfo", "Tokenizer", "inspect_base", "load_model", "load_tokenizer"]

#: GGUF token types that llama.cpp never splits (``gguf.TokenType.CONTROL``, ``USER_DEFINED``)
_WHOLE_TOKEN_TYPES = (3, 4)


@dataclass(frozen=True, slots=True, kw_only=True)
class BaseModelInfo:
    """What training needs to know about a base model before loading its weights."""

    path: Path                       #: the GGUF file, or the Hugging Face directory
    kind: Literal["gguf", "hf"]
    architecture: str                #: the llama.cpp architecture name (``qwen2``)
    n_layers: int
    chat_template: str
    eot: str                         #: the end-of-turn token text (``<|im_end|>``)
    whole_tokens: tuple[str, ...] = ()
    identity: dict[str, Any] = field(default_factory=dict)


def _gguf_info(path: Path) -> BaseModelInfo:
    require("gguf")
    import gguf
    import numpy as np

    from agentrt.backends.model_files import model_identity

    try:
        reader = gguf.GGUFReader(str(path))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path} is not a readable GGUF file: {exc}") from exc

    def field_value(key: str) -> Any:
        f = reader.fields.get(key)
        return None if f is None else f.contents()

    arch = str(field_value("general.architecture") or "")
    template = field_value("tokenizer.chat_template")
    if not template:
        raise ConfigError(f"{path} has no chat template (tokenizer.chat_template)")
    tokens = reader.fields["tokenizer.ggml.tokens"]
    types = reader.fields.get("tokenizer.ggml.token_type")

    def token(i: int) -> str:
        return bytes(tokens.parts[tokens.data[i]]).decode("utf-8", "replace")

    whole: list[str] = []
    if types is not None:
        values = np.array([types.parts[i][0] for i in types.data])
        whole = [token(int(i)) for i in np.nonzero(np.isin(values, _WHOLE_TOKEN_TYPES))[0]]
    eos = field_value("tokenizer.ggml.eos_token_id")
    if eos is None:
        raise ConfigError(f"{path} names no end-of-turn token (tokenizer.ggml.eos_token_id)")
    return BaseModelInfo(path=path, kind="gguf", architecture=arch,
                         n_layers=int(field_value(f"{arch}.block_count") or 0),
                         chat_template=str(template), eot=token(int(eos)),
                         whole_tokens=tuple(whole), identity=model_identity(path))


def _hf_info(path: Path) -> BaseModelInfo:
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
        tok_config = json.loads((path / "tokenizer_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path} is not a Hugging Face model directory (config.json, "
                          f"tokenizer_config.json): {exc}") from exc
    template = tok_config.get("chat_template")
    template_file = path / "chat_template.jinja"
    if not template and template_file.is_file():
        template = template_file.read_text(encoding="utf-8")
    if not template:
        raise ConfigError(f"{path} has no chat template")
    eos = tok_config.get("eos_token")
    eos = eos.get("content") if isinstance(eos, dict) else eos
    if not eos:
        raise ConfigError(f"{path}: tokenizer_config.json names no eos_token")
    return BaseModelInfo(path=path, kind="hf", architecture=str(config.get("model_type", "")),
                         n_layers=int(config.get("num_hidden_layers") or 0),
                         chat_template=str(template), eot=str(eos),
                         identity={"name": path.name, "hf_dir": str(path)})


def inspect_base(path: str | Path | None = None) -> BaseModelInfo:
    """The base model at ``path`` (a ``.gguf`` file or an HF directory); None: the embedded
    default (``AGENTRT_MODEL`` or the shipped GGUF, assembled and verified if needed)."""
    from agentrt.backends.model_files import resolve_model_path

    resolved = Path(path).expanduser() if path is not None else resolve_model_path(None)
    if resolved.is_dir():
        return _hf_info(resolved)
    if not resolved.is_file():
        raise ConfigError(f"base model not found: {resolved}")
    return _gguf_info(resolved)


@dataclass(frozen=True, slots=True, kw_only=True)
class Tokenizer:
    """Text → token ids the way the model's runtime tokenizes it (no BOS added)."""

    encode: Callable[[str], list[int]]
    pad_id: int
    hf: Any  #: the transformers tokenizer underneath


def load_tokenizer(info: BaseModelInfo) -> Tokenizer:
    """The base model's tokenizer, with the GGUF's whole tokens added back (module docstring)."""
    require("transformers", "tokenizers")
    from tokenizers import AddedToken
    from transformers import AutoTokenizer

    if info.kind == "gguf":
        tok = AutoTokenizer.from_pretrained(str(info.path.parent), gguf_file=info.path.name)
    else:
        tok = AutoTokenizer.from_pretrained(str(info.path))
    missing = [t for t in info.whole_tokens if t not in tok.get_added_vocab()]
    if missing:
        tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in missing])
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id

    def encode(text: str) -> list[int]:
        return list(tok(text, add_special_tokens=False)["input_ids"])

    return Tokenizer(encode=encode, pad_id=int(pad or 0), hf=tok)


def load_model(info: BaseModelInfo, *, dtype: Any = None) -> Any:
    """The base model as a transformers causal LM (float32 unless ``dtype``), on the CPU."""
    require("torch", "transformers")
    import torch
    from transformers import AutoModelForCausalLM

    kwargs: dict[str, Any] = {"dtype": dtype or torch.float32}
    if info.kind == "gguf":
        model = AutoModelForCausalLM.from_pretrained(str(info.path.parent),
                                                     gguf_file=info.path.name, **kwargs)
    else:
        model = AutoModelForCausalLM.from_pretrained(str(info.path), **kwargs)
    return model
