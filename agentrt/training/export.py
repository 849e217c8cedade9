"""Training stage: the trained adapter in the two forms the runtime loads.

* **PEFT** (``adapter/``: ``adapter_config.json``, ``adapter_model.safetensors``): for vLLM
  (``--enable-lora --lora-modules NAME=DIR``, or ``vllm-local:MODEL@lora=DIR``) and for
  transformers (``PeftModel.from_pretrained``). Weights in float16 by default (half the bytes;
  LoRA weights are small numbers, well inside float16's range).
* **GGUF LoRA** (``adapter.gguf``): for llama.cpp, ``Llama(model_path=BASE, lora_path=…)``.
  Written with the ``gguf`` package the way llama.cpp's ``convert_lora_to_gguf.py`` writes it:
  ``general.type = adapter``, ``adapter.type = lora``, ``adapter.lora.alpha``, and per adapted
  weight the pair ``blk.N.<tensor>.weight.lora_a`` (PEFT's ``lora_A``, shape ``(r, in)``) and
  ``.lora_b`` (``lora_B``, ``(out, r)``) — the same arrays, since GGUF lists dimensions in the
  reverse order. llama.cpp scales by ``alpha / r`` like PEFT (rsLoRA is not supported there).

The GGUF is made from the PEFT directory, so any PEFT LoRA adapter of a supported base can be
converted. Only architectures whose GGUF conversion leaves the attention weights as they are
(``qwen2``) are accepted; Llama-style bases permute q/k rows in GGUF and are refused.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from agentrt.errors import ConfigError
from agentrt.training.errors import require

__all__ = ["GGUF_ARCHITECTURES", "adapter_bytes", "peft_to_gguf", "read_gguf_adapter",
           "write_peft"]

#: llama.cpp architectures whose adapters this module writes
GGUF_ARCHITECTURES = frozenset({"qwen2"})
_LORA_NAME = re.compile(r"^(?:base_model\.model\.)?(?P<module>.+)\.lora_(?P<ab>[AB])\.weight$")


def write_peft(model: Any, directory: str | Path, *,
               dtype: Literal["f16", "f32"] = "f16") -> Path:
    """Save the LoRA weights of ``model`` (a ``PeftModel``) as a PEFT adapter directory."""
    require("torch", "peft", "safetensors")
    import torch
    from peft import get_peft_model_state_dict
    from safetensors.torch import save_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    state = get_peft_model_state_dict(model, save_embedding_layers=False)  # no hub lookup
    cast = torch.float16 if dtype == "f16" else torch.float32
    tensors = {k: v.detach().to("cpu", cast).contiguous() for k, v in state.items()}
    save_file(tensors, str(directory / "adapter_model.safetensors"), metadata={"format": "pt"})
    model.peft_config["default"].save_pretrained(str(directory))
    return directory


def _pairs(tensors: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    pairs: dict[str, dict[str, Any]] = {}
    for name, value in tensors.items():
        m = _LORA_NAME.match(name)
        if m is None:
            raise ConfigError(f"adapter tensor {name!r} is not a LoRA A/B weight (embeddings "
                              "and norms are not supported in GGUF adapters here)")
        pairs.setdefault(m["module"], {})[m["ab"]] = value
    for module, pair in pairs.items():
        if set(pair) != {"A", "B"}:
            raise ConfigError(f"adapter module {module!r} lacks its lora_A or lora_B weight")
    return pairs


def peft_to_gguf(adapter_dir: str | Path, out: str | Path, *, architecture: str,
                 n_layers: int, dtype: Literal["f16", "f32"] = "f16",
                 name: str = "agentrt adapter", metadata: Mapping[str, str] | None = None
                 ) -> Path:
    """Write the PEFT adapter in ``adapter_dir`` as a llama.cpp GGUF LoRA adapter at ``out``
    (through a temporary file and a rename)."""
    require("gguf", "safetensors", "numpy")
    import gguf
    import numpy as np
    from safetensors import safe_open

    if architecture not in GGUF_ARCHITECTURES:
        raise ConfigError(f"GGUF adapters are written for {sorted(GGUF_ARCHITECTURES)} bases, "
                          f"not {architecture!r}; the PEFT adapter is in {adapter_dir}")
    adapter_dir, out = Path(adapter_dir), Path(out)
    config = json.loads((adapter_dir / "adapter_config.json").read_text(encoding="utf-8"))
    if config.get("use_rslora") or config.get("use_dora"):
        raise ConfigError("rsLoRA and DoRA adapters have no llama.cpp form")
    if config.get("rank_pattern") or config.get("alpha_pattern"):
        raise ConfigError("per-module ranks or alphas have no llama.cpp form (one alpha)")
    alpha = float(config["lora_alpha"])
    tensors: dict[str, Any] = {}
    with safe_open(str(adapter_dir / "adapter_model.safetensors"), framework="pt") as fh:
        for key in fh.keys():  # noqa: SIM118 (safe_open is not a mapping)
            tensors[key] = fh.get_tensor(key).float().numpy()
    arch = {v: k for k, v in gguf.MODEL_ARCH_NAMES.items()}[architecture]
    names = gguf.get_tensor_name_map(arch, n_layers)
    np_dtype = np.float16 if dtype == "f16" else np.float32
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    writer = gguf.GGUFWriter(str(tmp), arch=architecture)
    try:
        writer.add_type(gguf.GGUFType.ADAPTER)
        writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
        writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, alpha)
        writer.add_name(name)
        for key, value in (metadata or {}).items():
            writer.add_string(key, value)
        for module, pair in sorted(_pairs(tensors).items()):
            base = names.get_name(module)  # model.layers.0.self_attn.q_proj → blk.0.attn_q
            if base is None:
                raise ConfigError(f"adapter module {module!r} has no {architecture} GGUF tensor")
            a, b = pair["A"], pair["B"]
            if a.shape[0] != b.shape[1]:
                raise ConfigError(f"{module}: lora_A {a.shape} and lora_B {b.shape} disagree")
            writer.add_tensor(f"{base}.weight.lora_a", np.ascontiguousarray(a, dtype=np_dtype))
            writer.add_tensor(f"{base}.weight.lora_b", np.ascontiguousarray(b, dtype=np_dtype))
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
    finally:
        writer.close()
    os.replace(tmp, out)
    return out


def read_gguf_adapter(path: str | Path) -> dict[str, Any]:
    """A GGUF adapter's metadata and tensor shapes (for checks and reports)."""
    require("gguf")
    import gguf

    reader = gguf.GGUFReader(str(path))
    meta = {k: f.contents() for k, f in reader.fields.items() if not k.startswith("GGUF.")}
    shapes = {t.name: tuple(int(d) for d in reversed(t.shape)) for t in reader.tensors}
    return {"metadata": meta, "tensors": shapes}


def adapter_bytes(path: str | Path) -> int:
    """Size on disk of an adapter file or directory."""
    p = Path(path)
    return p.stat().st_size if p.is_file() else sum(f.stat().st_size for f in p.rglob("*")
                                                     if f.is_file())
