"""Training stage: LoRA supervised fine-tuning (transformers + peft) on packed step sequences.

* **Device and precision**: CUDA when present, else the CPU. ``precision="auto"`` (default):
  bf16 autocast where the hardware does bf16 natively (a CUDA device that supports it; a CPU
  with AVX512-BF16 or AMX — the weights and LoRA parameters stay float32, the matrix products
  run in bf16: about twice as fast as float32 on such a CPU), else float32 (on a CPU without
  them, e.g. an AVX2-only AMD EPYC, bf16 is emulated and many times slower: a 24k-token step
  ran >20 minutes). ``"bf16"``/``"fp32"`` force one.
* **The forward pass** (:mod:`~agentrt.training.forward`): the common prefix of a step's
  sequences (the system prompt and tool schemas they share) runs once per optimizer step, its
  gradient gathered from every micro-batch; logits only where a reply token is predicted.
* **Steps**: one optimizer step is one :class:`~agentrt.training.examples.Batch` (about
  ``batch_tokens`` tokens), run through the model in micro-batches of at most
  ``micro_batch_tokens`` evaluated tokens (besides the shared prefix); the loss is the mean
  over the step's reply tokens.
  AdamW, linear warm-up then linear decay, gradient clipping at 1.0.
* **Checkpoints** every ``checkpoint_every`` steps and at the end, each written to a temporary
  directory and renamed into place (``checkpoints/step-00000012``): a run that is killed —
  out of memory, interrupted — leaves the last complete checkpoint, which is a PEFT adapter
  directory itself and from which ``resume`` continues with the same batches. The loss curve
  is appended to ``loss.jsonl`` as the run goes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from agentrt._log import get_logger
from agentrt.training import forward
from agentrt.training.errors import TrainingError, require
from agentrt.training.examples import Batch, TokenSequence, make_batches

__all__ = [
    "TARGETS",
    "LoraSettings",
    "StepStats",
    "TrainResult",
    "TrainSettings",
    "attach_lora",
    "cpu_has_bf16",
    "fingerprint",
    "last_checkpoint",
    "resolve_precision",
    "train",
]

log = get_logger(__name__)

#: LoRA target sets by name (module names of Qwen2/Llama-style decoders). ``lm_head`` and
#: ``embed_tokens`` are never targets: Qwen ties them, and llama.cpp adapters skip them.
TARGETS: dict[str, tuple[str, ...]] = {
    "all": ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"),
    "attn": ("q_proj", "k_proj", "v_proj", "o_proj"),
    "mlp": ("gate_proj", "up_proj", "down_proj"),
}
_FORBIDDEN_TARGETS = frozenset({"lm_head", "embed_tokens"})


@dataclass(frozen=True, slots=True, kw_only=True)
class LoraSettings:
    """The adapter: rank, scale (``alpha / r``) and the modules it adapts."""

    r: int = 8
    alpha: int = 16
    dropout: float = 0.0
    targets: tuple[str, ...] = TARGETS["all"]
    #: adapt only the last N decoder layers (None: all). The layers below stay the base
    #: model's, so the backward pass stops at the lowest adapted layer: with half the layers,
    #: a step costs about two thirds of a full one.
    top_layers: int | None = None

    def __post_init__(self) -> None:
        if self.top_layers is not None and self.top_layers < 1:
            raise ValueError("--top-layers must be at least 1")
        bad = _FORBIDDEN_TARGETS.intersection(self.targets)
        if bad:
            raise ValueError(f"LoRA targets {sorted(bad)}: embeddings and lm_head are tied in "
                             "Qwen and not adaptable in llama.cpp")
        if self.r < 1:
            raise ValueError("LoRA rank must be at least 1")


@dataclass(frozen=True, slots=True, kw_only=True)
class TrainSettings:
    """How long and how fast to train, and where checkpoints go."""

    epochs: int = 2
    max_steps: int | None = None
    learning_rate: float = 2e-4
    warmup_steps: int | None = None       #: None: 5 % of the steps (at least 1)
    weight_decay: float = 0.0
    batch_tokens: int = 16384
    micro_batch_tokens: int = 4096
    seed: int = 0
    checkpoint_every: int = 10
    keep_checkpoints: int = 2
    device: str = "auto"                  #: auto | cpu | cuda
    precision: Literal["auto", "bf16", "fp32"] = "auto"
    gradient_checkpointing: bool = False  #: less memory, slower; no shared-prefix pass
    shared_prefix: bool = True            #: run a micro-batch's common prefix once
    batching: str = "prefix"              #: prefix | mixed | length (see make_batches)
    threads: int | None = None            #: torch CPU threads (None: torch's default)


@dataclass(frozen=True, slots=True, kw_only=True)
class StepStats:
    """One optimizer step (a line of ``loss.jsonl``)."""

    step: int
    epoch: int
    loss: float
    lr: float
    sequences: int
    tokens: int
    target_tokens: int
    computed_tokens: int  #: token positions evaluated (shared prefix once, padding included)
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class TrainResult:
    """What a run did: its steps, the loss curve, throughput, the last checkpoint."""

    steps: int
    total_steps: int
    curve: tuple[StepStats, ...]
    seconds: float
    checkpoint: Path | None
    device: str
    precision: str
    resumed_from: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def tokens(self) -> int:
        return sum(s.tokens for s in self.curve)

    @property
    def tokens_per_second(self) -> float:
        busy = sum(s.seconds for s in self.curve)
        return self.tokens / busy if busy else 0.0

    @property
    def seconds_per_step(self) -> float:
        return sum(s.seconds for s in self.curve) / len(self.curve) if self.curve else 0.0


def fingerprint(sequences: Sequence[TokenSequence]) -> str:
    """A digest of the training sequences (a checkpoint resumes only on the same data)."""
    digest = hashlib.sha256()
    for seq in sequences:
        digest.update(json.dumps([seq.ids, seq.spans]).encode())
    return digest.hexdigest()[:16]


def attach_lora(model: Any, lora: LoraSettings, *, seed: int = 0) -> Any:
    """``model`` with LoRA layers (a ``peft.PeftModel``, initialised from ``seed``); only the
    LoRA weights train."""
    require("torch", "peft")
    import torch
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(seed)
    layers: list[int] | None = None
    if lora.top_layers is not None:
        n = int(model.config.num_hidden_layers)
        layers = list(range(max(0, n - lora.top_layers), n))
    config = LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                        target_modules=list(lora.targets), bias="none", task_type="CAUSAL_LM",
                        layers_to_transform=layers)
    return get_peft_model(model, config)


def _device(name: str) -> Any:
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise TrainingError("--device cuda, but torch sees no CUDA device")
    return torch.device(name)


#: /proc/cpuinfo flags of a CPU that does bf16 matrix products natively
_BF16_CPU_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


def cpu_has_bf16(cpuinfo: str | None = None) -> bool:
    """Whether this CPU computes in bf16 natively (AVX512-BF16 or AMX-BF16 in its flags);
    ``cpuinfo``: the text of /proc/cpuinfo (read when None; False where there is none)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return False
    for line in cpuinfo.splitlines():
        if line.startswith("flags") and ":" in line:
            return bool(_BF16_CPU_FLAGS & set(line.split(":", 1)[1].split()))
    return False


def resolve_precision(precision: str, device: Any, *, cpuinfo: str | None = None) -> str:
    """``"bf16"`` or ``"fp32"`` for ``precision`` (auto | bf16 | fp32) on ``device``."""
    if precision in ("bf16", "fp32"):
        return precision
    if getattr(device, "type", str(device)) == "cuda":
        import torch

        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if cpu_has_bf16(cpuinfo) else "fp32"


def autocast_for(device: Any, precision: str) -> Callable[[], contextlib.AbstractContextManager[Any]]:
    """A context factory: bf16 autocast on ``device``, or nothing for ``fp32``."""
    import torch

    if precision == "fp32":
        return contextlib.nullcontext
    return lambda: torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def _lr(step: int, total: int, warmup: int, peak: float) -> float:
    """Linear warm-up to ``peak`` over ``warmup`` steps, then linear decay to 10 % of it."""
    if step < warmup:
        return peak * (step + 1) / warmup
    rest = max(1, total - warmup)
    return peak * (1.0 - 0.9 * min(1.0, (step - warmup) / rest))


def _checkpoint_dirs(out: Path) -> list[Path]:
    root = out / "checkpoints"
    if not root.is_dir():
        return []
    done = [p for p in root.iterdir()
            if p.is_dir() and p.name.startswith("step-") and (p / "state.json").is_file()]
    return sorted(done, key=lambda p: p.name)


def last_checkpoint(out: str | Path) -> Path | None:
    """The newest complete checkpoint under ``out`` (half-written ones never count)."""
    dirs = _checkpoint_dirs(Path(out))
    return dirs[-1] if dirs else None


def _save_checkpoint(model: Any, optimizer: Any, out: Path, *, step: int,
                     state: dict[str, Any], keep: int) -> Path:
    import torch

    root = out / "checkpoints"
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"step-{step:08d}"
    tmp = root / f".step-{step:08d}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    # the LoRA weights only: a usable PEFT adapter (save_embedding_layers=False: no hub lookup)
    model.save_pretrained(str(tmp), save_embedding_layers=False)
    torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
    (tmp / "state.json").write_text(json.dumps(state), encoding="utf-8")  # written last
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    for old in _checkpoint_dirs(out)[:-keep] if keep > 0 else []:
        shutil.rmtree(old, ignore_errors=True)
    return final


def _load_checkpoint(model: Any, optimizer: Any, path: Path, data_fp: str) -> dict[str, Any]:
    import torch
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    state = json.loads((path / "state.json").read_text(encoding="utf-8"))
    if state.get("data") != data_fp:
        raise TrainingError(f"{path} was made from other training data or settings; start a "
                            "new --out directory or train without --resume")
    set_peft_model_state_dict(model, load_file(str(path / "adapter_model.safetensors")))
    optimizer.load_state_dict(torch.load(path / "optimizer.pt", weights_only=True))
    return dict(state)


def _is_oom(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "out of memory" in text or "can't allocate memory" in text or \
        type(exc).__name__ == "OutOfMemoryError"


def train(model: Any, sequences: Sequence[TokenSequence], *, pad_id: int, out: str | Path,
          settings: TrainSettings | None = None, resume: bool = False,
          on_step: Callable[[StepStats], None] | None = None) -> TrainResult:
    """Train the LoRA weights of ``model`` (from :func:`attach_lora`) on ``sequences``.

    ``on_step`` sees every step's stats (progress; a test raises from it to interrupt a run).
    Out of memory raises :class:`TrainingError` naming the last checkpoint.
    """
    require("torch")
    import torch

    settings = settings or TrainSettings()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if not sequences:
        raise TrainingError("nothing to train on (no sequences)")
    torch.manual_seed(settings.seed)
    if settings.threads:
        torch.set_num_threads(settings.threads)
    device = _device(settings.device)
    precision = resolve_precision(settings.precision, device)
    autocast = autocast_for(device, precision)
    model.to(device)
    if settings.gradient_checkpointing:
        model.get_base_model().gradient_checkpointing_enable(
            gradient_checkpointing_kwargs={"use_reentrant": False})
    # the shared-prefix pass needs the KV cache, which gradient checkpointing turns off
    sharing = settings.shared_prefix and not settings.gradient_checkpointing
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=settings.learning_rate,
                                  weight_decay=settings.weight_decay)
    per_epoch = len(make_batches(sequences, batch_tokens=settings.batch_tokens,
                                 seed=settings.seed, epoch=0, batching=settings.batching))
    total = per_epoch * settings.epochs
    if settings.max_steps is not None:
        total = min(total, settings.max_steps) if settings.epochs else settings.max_steps
    warmup = settings.warmup_steps if settings.warmup_steps is not None else \
        max(1, math.ceil(0.05 * total))
    data_fp = fingerprint(sequences) + f"/{settings.batch_tokens}/{settings.seed}" + (
        "" if settings.batching == "length" else f"/{settings.batching}")
    start, curve_log = 0, out / "loss.jsonl"
    checkpoint = last_checkpoint(out) if resume else None
    if checkpoint is not None:
        start = int(_load_checkpoint(model, optimizer, checkpoint, data_fp)["step"])
        log.info("train.resumed", checkpoint=str(checkpoint), step=start)
        if curve_log.exists():  # steps after the checkpoint are trained again
            kept = [line for line in curve_log.read_text(encoding="utf-8").splitlines()
                    if line.strip() and json.loads(line)["step"] <= start]
            curve_log.write_text("".join(line + "\n" for line in kept), encoding="utf-8")
    elif curve_log.exists():
        curve_log.unlink()
    curve: list[StepStats] = []
    started = time.perf_counter()
    epoch_batches: dict[int, list[Batch]] = {}
    step = start
    try:
        while step < total:
            epoch, index = divmod(step, per_epoch)
            if epoch not in epoch_batches:
                epoch_batches = {epoch: make_batches(sequences, batch_tokens=settings.batch_tokens,
                                                     seed=settings.seed, epoch=epoch,
                                                     batching=settings.batching)}
            batch = epoch_batches[epoch][index]
            lr = _lr(step, total, warmup, settings.learning_rate)
            for group in optimizer.param_groups:
                group["lr"] = lr
            t0 = time.perf_counter()
            optimizer.zero_grad(set_to_none=True)
            loss_total, computed = forward.backward_step(
                model, batch.sequences, pad_id, device, limit=settings.micro_batch_tokens,
                scale=1.0 / batch.target_tokens, sharing=sharing, autocast=autocast)
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            step += 1
            stats = StepStats(step=step, epoch=epoch, loss=round(loss_total, 6), lr=lr,
                              sequences=len(batch.sequences), tokens=batch.tokens,
                              target_tokens=batch.target_tokens, computed_tokens=computed,
                              seconds=round(time.perf_counter() - t0, 4))
            curve.append(stats)
            with curve_log.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(stats.to_dict()) + "\n")
            log.info("train.step", **stats.to_dict())
            if step % settings.checkpoint_every == 0 or step == total:
                checkpoint = _save_checkpoint(model, optimizer, out, step=step,
                                              state={"step": step, "data": data_fp},
                                              keep=settings.keep_checkpoints)
            if on_step is not None:
                on_step(stats)
    except (RuntimeError, MemoryError) as exc:
        if not _is_oom(exc):
            raise
        last = last_checkpoint(out)
        raise TrainingError(f"out of memory at step {step + 1} ({exc}); lower --batch-tokens "
                            "or --micro-batch-tokens, or use --gradient-checkpointing",
                            checkpoint=str(last) if last else None) from exc
    return TrainResult(steps=step - start, total_steps=total, curve=tuple(curve),
                       seconds=time.perf_counter() - started, checkpoint=checkpoint,
                       device=str(device), precision=precision, resumed_from=start)
