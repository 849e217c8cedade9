"""Training stage: start from an adapter already trained (``agentrt finetune --init-adapter``).

A user who shipped an adapter and then collected more trajectories (a new kind of request, the
failures an evaluation showed) continues from it instead of training from scratch: the new run
starts with the old adapter's LoRA weights, in its shape (rank, alpha, the adapted modules and
layers — read from the adapter, never guessed), and trains on the new data.

Two forms are read, the two :mod:`~agentrt.training.export` writes:

* a **PEFT directory** (``adapter_config.json`` + ``adapter_model.safetensors``);
* a **GGUF LoRA adapter** (llama.cpp's form, e.g. the demo's shipped ``adapter.gguf``): the
  tensor pairs ``blk.N.<tensor>.weight.lora_a/_b`` are mapped back to the decoder's module
  names with the ``gguf`` package's own name table; the arrays are PEFT's (``lora_A`` is
  ``(r, in)``, ``lora_B`` ``(out, r)``), so nothing is transposed.

A file that is neither, an adapter for another architecture or layer count, or one whose
layers are not the top N of the decoder is a :class:`~agentrt.errors.ConfigError` naming
what does not fit.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentrt.errors import ConfigError
from agentrt.training.errors import require
from agentrt.training.trainer import TARGETS, LoraSettings

__all__ = ["InitAdapter", "load_init_adapter", "read_init_adapter"]

_PEFT_KEY = re.compile(r"^(?:base_model\.model\.)?model\.layers\.(?P<layer>\d+)\."
                       r"(?:self_attn|mlp)\.(?P<target>\w+)\.lora_(?P<ab>[AB])\.weight$")


@dataclass(frozen=True, slots=True)
class InitAdapter:
    """An adapter's LoRA weights by PEFT state-dict key (float32 numpy arrays) and its shape."""

    path: Path
    form: str  #: "peft" or "gguf"
    lora: LoraSettings
    tensors: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "form": self.form, "r": self.lora.r,
                "alpha": self.lora.alpha, "targets": list(self.lora.targets),
                "top_layers": self.lora.top_layers, "tensors": len(self.tensors)}


def _gguf_tensors(path: Path, *, architecture: str, n_layers: int) -> tuple[dict[str, Any], float]:
    require("gguf", "numpy")
    import gguf
    import numpy as np

    try:
        reader = gguf.GGUFReader(str(path))
    except Exception as exc:  # the gguf reader raises plain ValueErrors, struct errors and more
        raise ConfigError(f"{path}: not a readable GGUF file ({exc})") from exc
    fields = {k: f.contents() for k, f in reader.fields.items() if not k.startswith("GGUF.")}
    if fields.get("general.type") != "adapter" or fields.get("adapter.type") != "lora":
        raise ConfigError(f"{path}: a GGUF file but not a LoRA adapter "
                          f"(general.type={fields.get('general.type')!r})")
    if fields.get("general.architecture") != architecture:
        raise ConfigError(f"{path}: an adapter for {fields.get('general.architecture')!r}, the "
                          f"base model is {architecture!r}")
    arch = {v: k for k, v in gguf.MODEL_ARCH_NAMES.items()}[architecture]
    names = gguf.get_tensor_name_map(arch, n_layers)
    back: dict[str, str] = {}
    for layer in range(n_layers):
        for target in TARGETS["all"]:
            part = "self_attn" if target in TARGETS["attn"] else "mlp"
            module = f"model.layers.{layer}.{part}.{target}"
            name = names.get_name(module)
            if name is not None:
                back[name] = module
    tensors: dict[str, Any] = {}
    for t in reader.tensors:
        base, _, ab = t.name.rpartition(".weight.lora_")
        if ab not in ("a", "b") or base not in back:
            raise ConfigError(f"{path}: tensor {t.name!r} is not a LoRA weight of a "
                              f"{n_layers}-layer {architecture} decoder")
        shape = tuple(int(d) for d in reversed(t.shape))
        array = np.asarray(t.data, dtype=np.float32).reshape(shape)
        tensors[f"base_model.model.{back[base]}.lora_{ab.upper()}.weight"] = array
    return tensors, float(fields.get("adapter.lora.alpha") or 0.0)


def _peft_tensors(path: Path) -> tuple[dict[str, Any], float]:
    require("safetensors", "numpy")
    from safetensors import safe_open

    config = json.loads((path / "adapter_config.json").read_text(encoding="utf-8"))
    if config.get("peft_type", "LORA") != "LORA":
        raise ConfigError(f"{path}: a {config.get('peft_type')} adapter, not LoRA")
    if config.get("use_rslora") or config.get("use_dora") or config.get("rank_pattern") \
            or config.get("alpha_pattern"):
        raise ConfigError(f"{path}: rsLoRA, DoRA and per-module ranks are not continued here")
    tensors: dict[str, Any] = {}
    with safe_open(str(path / "adapter_model.safetensors"), framework="numpy") as fh:
        for key in fh.keys():  # noqa: SIM118 (safe_open is not a mapping)
            tensors[key] = fh.get_tensor(key).astype("float32")
    return tensors, float(config["lora_alpha"])


def read_init_adapter(path: str | Path, *, architecture: str, n_layers: int) -> InitAdapter:
    """The adapter at ``path`` (PEFT directory or GGUF file) and the LoRA settings it implies."""
    p = Path(path)
    if p.is_dir():
        if not (p / "adapter_config.json").is_file():
            raise ConfigError(f"{p}: a directory without adapter_config.json (not a PEFT "
                              "adapter)")
        form = "peft"
        tensors, alpha = _peft_tensors(p)
    elif p.is_file():
        form = "gguf"
        tensors, alpha = _gguf_tensors(p, architecture=architecture, n_layers=n_layers)
    else:
        raise ConfigError(f"--init-adapter {p}: no such file or directory")
    layers: set[int] = set()
    targets: set[str] = set()
    ranks: set[int] = set()
    for key, value in tensors.items():
        m = _PEFT_KEY.match(key)
        if m is None:
            raise ConfigError(f"{p}: {key!r} is not a decoder layer's LoRA weight")
        layers.add(int(m["layer"]))
        targets.add(m["target"])
        ranks.add(int(value.shape[0] if m["ab"] == "A" else value.shape[1]))
    if not tensors or len(ranks) != 1:
        raise ConfigError(f"{p}: no LoRA weights, or more than one rank ({sorted(ranks)})")
    if max(layers) >= n_layers:
        raise ConfigError(f"{p}: adapts layer {max(layers)}, the base has {n_layers} layers")
    low = min(layers)
    if layers != set(range(low, n_layers)):
        raise ConfigError(f"{p}: adapts layers {sorted(layers)}, not the top N of {n_layers}")
    if alpha <= 0:
        raise ConfigError(f"{p}: the adapter records no LoRA alpha")
    order = [t for t in TARGETS["all"] if t in targets] + sorted(targets - set(TARGETS["all"]))
    alpha_int = int(alpha)
    if alpha_int != alpha:
        raise ConfigError(f"{p}: LoRA alpha {alpha} is not a whole number")
    lora = LoraSettings(r=ranks.pop(), alpha=alpha_int, targets=tuple(order),
                        top_layers=None if low == 0 else n_layers - low)
    return InitAdapter(path=p, form=form, lora=lora, tensors=tensors)


def load_init_adapter(model: Any, adapter: InitAdapter) -> None:
    """Copy ``adapter``'s weights into ``model`` (a ``PeftModel`` made with ``adapter.lora``);
    every LoRA weight of the model must be given, in its shape."""
    require("torch", "peft")
    import torch
    from peft import get_peft_model_state_dict, set_peft_model_state_dict

    want = get_peft_model_state_dict(model, save_embedding_layers=False)
    if set(want) != set(adapter.tensors):
        missing = sorted(set(want) - set(adapter.tensors))[:3]
        extra = sorted(set(adapter.tensors) - set(want))[:3]
        raise ConfigError(f"{adapter.path}: the adapter's weights do not match the model's "
                          f"LoRA layers (missing {missing}, unexpected {extra})")
    state = {}
    for key, value in adapter.tensors.items():
        if tuple(want[key].shape) != tuple(value.shape):
            raise ConfigError(f"{adapter.path}: {key} has shape {tuple(value.shape)}, the "
                              f"model's is {tuple(want[key].shape)}")
        state[key] = torch.from_numpy(value.copy()).to(want[key].dtype)
    result = set_peft_model_state_dict(model, state)
    unexpected = getattr(result, "unexpected_keys", None)
    if unexpected:
        raise ConfigError(f"{adapter.path}: weights not loaded: {sorted(unexpected)[:3]}")
