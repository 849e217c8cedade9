"""Training stage: the whole ``agentrt finetune`` run — records → packed sequences → LoRA SFT →
PEFT adapter + GGUF adapter + ``training.json`` (what was trained on, how, the loss curve,
the artifacts with their sizes and sha256).

Output directory::

    OUT/adapter/            PEFT adapter (vLLM --lora-modules, vllm-local:MODEL@lora=OUT/adapter)
    OUT/adapter.gguf        llama.cpp adapter: Llama(model_path=BASE, lora_path=OUT/adapter.gguf)
    OUT/training.json       the manifest (FinetuneManifest)
    OUT/loss.jsonl          one line per optimizer step
    OUT/checkpoints/…       the last complete checkpoints (resume with resume=True)
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from agentrt import __version__
from agentrt._log import get_logger
from agentrt.backends.native import CALL_STYLES, ChatTemplate
from agentrt.errors import ConfigError
from agentrt.training.adapter_import import load_init_adapter, read_init_adapter
from agentrt.training.base import (
    BaseModelInfo,
    Tokenizer,
    inspect_base,
    load_model,
    load_tokenizer,
)
from agentrt.training.errors import require
from agentrt.training.examples import Packing, pack, step_text, tokenize_steps
from agentrt.training.export import adapter_bytes, peft_to_gguf, write_peft
from agentrt.training.holdout import name_spans, score, split_holdout, task_key
from agentrt.training.records import TrainingRecord, read_records
from agentrt.training.trainer import (
    LoraSettings,
    StepStats,
    TrainSettings,
    attach_lora,
    autocast_for,
    train,
)

__all__ = ["MANIFEST_FORMAT", "FinetuneManifest", "check_tokenizer", "finetune", "prepare"]

log = get_logger(__name__)
MANIFEST_FORMAT = "agentrt.finetune/1"


class FinetuneManifest(BaseModel):
    """``training.json``: enough to say what an adapter is and to reproduce it."""

    model_config = ConfigDict(extra="forbid")

    format: str = MANIFEST_FORMAT
    agentrt: str
    commit: str | None
    base: dict[str, Any]
    data: dict[str, Any]
    lora: dict[str, Any]
    training: dict[str, Any]
    loss_curve: list[dict[str, Any]]
    artifacts: dict[str, Any]
    #: how the embedded backend decodes with the adapter: ``call_style`` (tagged or bare) and,
    #: for tagged calls, ``call_bias`` (:mod:`agentrt.training.calibrate`) where measured
    decoding: dict[str, Any] = {}
    #: base and adapter scored on held-out tasks (``--holdout``; :mod:`.holdout`); empty
    #: when nothing was held out
    evaluation: dict[str, Any] = {}


def _sha256(path: Path) -> str:
    from agentrt.backends.model_files import sha256_of

    return sha256_of(path)


def _commit() -> str | None:
    """The agentrt source's git commit, when it runs from a checkout."""
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent,
                              capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.strip() or None


def prepare(records: Sequence[TrainingRecord], info: BaseModelInfo, tokenizer: Tokenizer, *,
            max_length: int, call_style: str = "tagged") -> Packing:
    """Render, tokenize and pack ``records`` for the base model (calls in ``call_style``)."""
    template = ChatTemplate(info.chat_template)
    if not template.supports_tools:
        raise ConfigError(f"the chat template of {info.path} does not render tools; "
                          "finetune trains the native tool-call format")
    texts = [step_text(template, r, eot=info.eot, bare=_bare(call_style)) for r in records]
    return pack(tokenize_steps(texts, tokenizer.encode), max_length=max_length)


def _bare(call_style: str) -> bool:
    if call_style not in CALL_STYLES:
        raise ConfigError(f"unknown call style {call_style!r}: one of {', '.join(CALL_STYLES)}")
    return call_style == "bare"


def check_tokenizer(info: BaseModelInfo, tokenizer: Tokenizer, texts: Sequence[str]) -> int:
    """Compare the training tokenizer with llama.cpp's on ``texts`` (GGUF bases, when
    llama-cpp-python is installed); raise :class:`ConfigError` on the first difference.
    Returns how many texts were compared."""
    if info.kind != "gguf":
        return 0
    try:
        import llama_cpp
    except ImportError:
        return 0
    llm = llama_cpp.Llama(model_path=str(info.path), vocab_only=True, verbose=False)
    try:
        for text in texts:
            ours = tokenizer.encode(text)
            theirs = [int(t) for t in llm.tokenize(text.encode(), add_bos=False, special=True)]
            if ours != theirs:
                at = next((i for i, (a, b) in enumerate(zip(ours, theirs, strict=False))
                           if a != b), min(len(ours), len(theirs)))
                raise ConfigError(f"the training tokenizer and llama.cpp disagree on {info.path} "
                                  f"at token {at}: {ours[at:at + 5]} vs {theirs[at:at + 5]}")
    finally:
        llm.close()
    return len(texts)


def _data_summary(paths: Sequence[Path], records: Sequence[TrainingRecord],
                  packing: Packing) -> dict[str, Any]:
    prov = [r.provenance for r in records]
    count = Counter
    return {
        "files": [{"path": str(p), "sha256": _sha256(p)} for p in paths],
        "records": len(records),
        "calls": sum(1 for r in records if r.call is not None),
        "answers": sum(1 for r in records if r.call is None),
        "repairs": sum(1 for r in records if getattr(r, "repair", False)),
        "tasks": len({(p.get("task_id"), p.get("run")) for p in prov}),
        "teachers": dict(count(str(p.get("teacher")) for p in prov)),
        "seeds": sorted({p["seed"] for p in prov if "seed" in p}, key=str),
        "categories": dict(count(str(p.get("category")) for p in prov if "category" in p)),
        "sequences": len(packing.sequences),
        "tokens": packing.tokens,
        "target_tokens": packing.target_tokens,
        "tokens_unpacked": packing.tokens_before,
        "dropped_too_long": list(packing.dropped),
    }


def _calibrate(base: Path, adapter: Path, records: Sequence[TrainingRecord]) -> dict[str, Any]:
    """``decoding`` for the manifest: the fitted ``call_bias`` (needs llama-cpp-python)."""
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        return {}
    from agentrt.training.calibrate import calibrate_call_bias

    try:
        fitted = calibrate_call_bias(base, adapter, records)
    except (ValueError, RuntimeError, OSError) as exc:  # e.g. a template without <tool_call>
        log.warning("finetune.no_calibration", reason=str(exc))
        return {}
    return {**fitted.to_dict(), "how": "agentrt.training.calibrate on training records"}


def _score_holdout(model: Any, packing: Packing, held: Sequence[TrainingRecord],
                   tokenizer: Tokenizer, device: str, precision: str, share: float
                   ) -> dict[str, Any]:
    """Teacher-forced scores of the adapter and of the base (adapter off) on held-out tasks."""
    import torch

    dev = torch.device(device)
    seqs = packing.sequences
    spans = [name_spans(s, tokenizer.hf.decode) for s in seqs]
    autocast = autocast_for(dev, precision)
    tuned = score(model, seqs, dev, tool_spans=spans, autocast=autocast)
    with model.disable_adapter():
        base = score(model, seqs, dev, tool_spans=spans, autocast=autocast)
    return {"share": share, "tasks": len({task_key(r) for r in held}), "records": len(held),
            "sequences": len(seqs), "base": base.to_dict(), "adapter": tuned.to_dict(),
            "how": "agentrt.training.holdout: teacher forcing on whole tasks kept out"}


def finetune(data: Sequence[str | Path], out: str | Path, *, base: str | Path | None = None,
             lora: LoraSettings | None = None, settings: TrainSettings | None = None,
             max_length: int = 6144, adapter_dtype: Literal["f16", "f32"] = "f16",
             resume: bool = False, on_step: Callable[[StepStats], None] | None = None,
             on_stage: Callable[[str], None] | None = None,
             calibrate: bool = True, call_style: str = "tagged",
             holdout: float = 0.0,
             init_adapter: str | Path | None = None) -> FinetuneManifest:
    """Train a LoRA adapter on the records in ``data``; write it to ``out`` (module docstring).
    ``on_stage`` hears each phase by name (progress for the CLI). ``call_style``: how calls
    are written (``tagged``, the template's form, or ``bare`` JSON: see
    :mod:`agentrt.backends.native`); recorded in ``decoding`` for the embedded backend.
    ``holdout``: the share of tasks kept out of training and scored (``evaluation``).
    ``init_adapter``: a PEFT directory or GGUF adapter to continue from
    (:mod:`~agentrt.training.adapter_import`); its shape is the run's LoRA settings (``lora``
    must then be None or the same)."""
    require("torch", "transformers", "peft", "gguf")
    settings = settings or TrainSettings()
    stage = on_stage or (lambda _name: None)
    out = Path(out)
    paths = [Path(p) for p in data]
    records, held = split_holdout(read_records(paths), holdout, seed=settings.seed)
    stage("inspecting the base model")
    info = inspect_base(base)
    start = None
    if init_adapter is not None:
        start = read_init_adapter(init_adapter, architecture=info.architecture,
                                  n_layers=info.n_layers)
        if lora is not None and lora != start.lora:
            raise ConfigError(f"--init-adapter {init_adapter} is {start.lora}, not {lora}")
        lora = start.lora
    lora = lora or LoraSettings()
    stage("loading the tokenizer")
    tokenizer = load_tokenizer(info)
    bare = _bare(call_style)
    packing = prepare(records, info, tokenizer, max_length=max_length, call_style=call_style)
    held_packing = prepare(held, info, tokenizer, max_length=max_length,
                           call_style=call_style) if held else None
    if not packing.sequences:
        raise ConfigError(f"every record is longer than --max-length {max_length} tokens")
    template = ChatTemplate(info.chat_template)
    sample = [step_text(template, r, eot=info.eot, bare=bare) for r in records[:2]]
    check_tokenizer(info, tokenizer, [t.prompt + t.target for t in sample])
    stage("loading the base model")
    model = attach_lora(load_model(info), lora, seed=settings.seed)
    if start is not None:
        stage(f"starting from the adapter {start.path}")
        load_init_adapter(model, start)
    stage("training")
    result = train(model, packing.sequences, pad_id=tokenizer.pad_id, out=out,
                   settings=settings, resume=resume, on_step=on_step)
    evaluation: dict[str, Any] = {}
    if held_packing is not None and held_packing.sequences:
        stage(f"scoring {len({task_key(r) for r in held})} held-out task(s)")
        evaluation = _score_holdout(model, held_packing, held, tokenizer, result.device,
                                    result.precision, holdout)
    stage("writing the adapters")
    peft_dir = write_peft(model, out / "adapter", dtype=adapter_dtype)
    gguf_path: Path | None = None
    try:
        gguf_path = peft_to_gguf(peft_dir, out / "adapter.gguf", architecture=info.architecture,
                                 n_layers=info.n_layers, dtype=adapter_dtype,
                                 metadata={"agentrt.base": str(info.identity.get("name", ""))})
    except ConfigError as exc:  # e.g. a base without a llama.cpp adapter form: PEFT only
        log.warning("finetune.no_gguf", reason=str(exc))
    decoding: dict[str, Any] = {"call_style": call_style}
    if gguf_path is not None and info.kind == "gguf" and calibrate and not bare:
        stage("calibrating the first move (call or answer) in llama.cpp")
        decoding.update(_calibrate(info.path, gguf_path, records))
    curve_path = out / "loss.jsonl"
    curve = [StepStats(**json.loads(line)).to_dict()
             for line in curve_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    safetensors = peft_dir / "adapter_model.safetensors"
    artifacts: dict[str, Any] = {
        "peft": {"path": str(peft_dir), "bytes": adapter_bytes(peft_dir),
                 "sha256": _sha256(safetensors), "dtype": adapter_dtype},
    }
    if gguf_path is not None:
        artifacts["gguf"] = {"path": str(gguf_path), "bytes": adapter_bytes(gguf_path),
                             "sha256": _sha256(gguf_path), "dtype": adapter_dtype}
    manifest = FinetuneManifest(
        agentrt=__version__, commit=_commit(),
        base={"kind": info.kind, "path": str(info.path), "architecture": info.architecture,
              "identity": info.identity},
        data=_data_summary(paths, records, packing),
        lora={**asdict(lora), "targets": list(lora.targets)},
        training={**asdict(settings), "max_length": max_length, "steps": result.total_steps,
                  "steps_this_run": result.steps, "resumed_from": result.resumed_from,
                  "device": result.device, "precision": result.precision,
                  "seconds": round(result.seconds, 2),
                  "seconds_per_step": round(result.seconds_per_step, 3),
                  "tokens_per_second": round(result.tokens_per_second, 1),
                  **({"init_adapter": {**start.to_dict(), "sha256": _sha256(
                      start.path if start.form == "gguf"
                      else start.path / "adapter_model.safetensors")}} if start else {})},
        loss_curve=curve, artifacts=artifacts, decoding=decoding, evaluation=evaluation)
    (out / "training.json").write_text(manifest.model_dump_json(indent=2), encoding="utf-8")
    return manifest
