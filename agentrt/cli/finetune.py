"""Interfaces: ``agentrt finetune DATA.jsonl… --out DIR`` — LoRA fine-tuning of the local model on
``agentrt synth`` records, written as a PEFT adapter (vLLM) and a GGUF adapter (llama.cpp).

Needs the training extra (``pip install 'agentrt[train]'``); without it the command says so in
one line. ``--check`` reads and checks the data only (no extra needed).
"""

from __future__ import annotations

import argparse
import sys

from agentrt.errors import ConfigError

__all__ = ["DESCRIPTION", "add_arguments", "run"]

DESCRIPTION = (
    "Fine-tune the local model with LoRA on verified trajectories (the JSONL records "
    "`agentrt synth` writes; loss on the model's own reply tokens only). Writes OUT/adapter "
    "(PEFT: vLLM --enable-lora --lora-modules NAME=OUT/adapter), OUT/adapter.gguf (llama.cpp: "
    "Llama(model_path=BASE, lora_path=OUT/adapter.gguf)), OUT/training.json (data, settings, "
    "loss curve, sizes, sha256) and checkpoints (--resume continues from the last). Runs on "
    "the CPU (bf16 autocast) or CUDA when present. Needs: pip install 'agentrt[train]'.")

_TARGET_SETS = ("all", "attn", "mlp")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", nargs="+", metavar="DATA.jsonl", help="training records")
    p.add_argument("--out", metavar="DIR", help="output directory (required unless --check)")
    p.add_argument("--base", metavar="GGUF|DIR",
                   help="base model: a GGUF file or a Hugging Face directory (default: the "
                        "embedded model, AGENTRT_MODEL or the shipped GGUF)")
    p.add_argument("--check", action="store_true",
                   help="only read and check the data; print what it holds")
    lora = p.add_argument_group("adapter")
    lora.add_argument("--init-adapter", metavar="DIR|GGUF",
                      help="continue from this adapter (a PEFT directory or a GGUF LoRA, e.g. "
                           "the demo's shipped adapter.gguf): its rank, alpha, targets and "
                           "layers are used and --rank/--alpha/--targets/--top-layers ignored")
    lora.add_argument("--rank", type=int, default=8, help="LoRA rank r (default 8)")
    lora.add_argument("--alpha", type=int, default=16, help="LoRA alpha (scale alpha/r; 16)")
    lora.add_argument("--targets", default="all",
                      help="modules to adapt: all | attn | mlp | a comma list such as "
                           "q_proj,v_proj (default all linear layers; never lm_head or "
                           "embed_tokens)")
    lora.add_argument("--top-layers", type=int, metavar="N",
                      help="adapt only the last N decoder layers (cheaper backward; default all)")
    lora.add_argument("--call-style", choices=("tagged", "bare"), default="tagged",
                      help="how calls are written: tagged, the chat template's <tool_call> "
                           "form (default), or bare JSON objects — for a base whose "
                           "<tool_call> token is barely trained, such as Qwen2.5-Coder-0.5B")
    lora.add_argument("--adapter-dtype", choices=("f16", "f32"), default="f16",
                      help="weights of the written adapters (default f16: half the bytes)")
    run = p.add_argument_group("training")
    run.add_argument("--epochs", type=int, default=2, help="passes over the data (default 2)")
    run.add_argument("--max-steps", type=int, help="stop after this many optimizer steps")
    run.add_argument("--lr", type=float, default=2e-4, help="peak learning rate (2e-4)")
    run.add_argument("--batch-tokens", type=int, default=16384,
                     help="sequence tokens per optimizer step (default 16384)")
    run.add_argument("--micro-batch-tokens", type=int, default=4096,
                     help="evaluated tokens per forward pass — a shared prefix counts once, "
                          "padding counts (memory: ~15 GB at 4096 for the 0.5B model; "
                          "default 4096)")
    run.add_argument("--max-length", type=int, default=6144,
                     help="longest sequence; longer records are dropped and counted (default "
                          "6144, the embedded backend's context)")
    run.add_argument("--holdout", type=float, default=0.0, metavar="SHARE",
                     help="keep this share of the tasks (whole) out of training and score base "
                          "and adapter on them: loss, replies written exactly, tool chosen "
                          "(training.json 'evaluation'; default 0)")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--checkpoint-every", type=int, default=10, metavar="STEPS")
    run.add_argument("--resume", action="store_true", help="continue from OUT's last checkpoint")
    run.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    run.add_argument("--precision", choices=("auto", "bf16", "fp32"), default="auto",
                     help="auto: bf16 autocast (float32 weights) where the hardware does bf16 "
                          "natively (CUDA, AVX512-BF16/AMX CPUs), else fp32; bf16/fp32 force "
                          "one")
    run.add_argument("--gradient-checkpointing", action="store_true",
                     help="recompute activations in the backward pass (less memory, slower)")
    run.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    run.add_argument("--batching", choices=("prefix", "mixed", "length"), default="prefix",
                     help="prefix: steps of sequences that begin alike (same tools), the "
                          "requests mixed (default); mixed: shuffled; length: length-sorted")
    p.add_argument("--json", action="store_true", help="print training.json on stdout")


def _targets(text: str) -> tuple[str, ...]:
    from agentrt.training.trainer import TARGETS

    if text in _TARGET_SETS:
        return TARGETS[text]
    names = tuple(t.strip() for t in text.split(",") if t.strip())
    if not names:
        raise ConfigError("--targets names no module")
    return names


def _check(args: argparse.Namespace) -> int:
    from collections import Counter

    from agentrt.training.records import read_records

    records = read_records(args.data)
    kinds = Counter("call" if r.call is not None else "answer" for r in records)
    teachers = Counter(str(r.provenance.get("teacher")) for r in records)
    print(f"{len(records)} record(s): {kinds['call']} call(s), {kinds['answer']} answer(s); "
          f"teachers: {dict(teachers)}")
    return 0


def run(args: argparse.Namespace) -> int:
    from agentrt.training.errors import TrainExtraMissing, require

    if args.check:
        return _check(args)
    if not args.out:
        raise ConfigError("--out DIR is required (where the adapters are written)")
    try:
        require("torch", "transformers", "peft", "gguf", "safetensors")
    except TrainExtraMissing as exc:
        print(f"agentrt: error: {exc}", file=sys.stderr)
        return 2
    from agentrt.training.pipeline import finetune
    from agentrt.training.trainer import LoraSettings, StepStats, TrainSettings, last_checkpoint

    try:
        lora: LoraSettings | None = None if args.init_adapter else LoraSettings(
            r=args.rank, alpha=args.alpha, targets=_targets(args.targets),
            top_layers=args.top_layers)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    settings = TrainSettings(
        epochs=args.epochs, max_steps=args.max_steps, learning_rate=args.lr,
        batch_tokens=args.batch_tokens, micro_batch_tokens=args.micro_batch_tokens,
        seed=args.seed, checkpoint_every=args.checkpoint_every, device=args.device,
        precision=args.precision, gradient_checkpointing=args.gradient_checkpointing,
        threads=args.threads, batching=args.batching)

    def on_step(s: StepStats) -> None:
        rate = s.tokens / s.seconds if s.seconds else 0.0
        print(f"step {s.step}: loss {s.loss:.4f}  {s.seconds:.1f} s  {rate:.0f} tok/s  "
              f"({s.sequences} seq, {s.tokens} tok, {s.target_tokens} target)", file=sys.stderr)

    try:
        manifest = finetune(args.data, args.out, base=args.base, lora=lora, settings=settings,
                            max_length=args.max_length, adapter_dtype=args.adapter_dtype,
                            resume=args.resume, on_step=on_step, call_style=args.call_style,
                            holdout=args.holdout, init_adapter=args.init_adapter,
                            on_stage=lambda name: print(f"{name} …", file=sys.stderr))
    except KeyboardInterrupt:
        last = last_checkpoint(args.out)
        print("interrupted" + (f"; the last checkpoint is {last} (continue with --resume)"
                               if last else ""), file=sys.stderr)
        return 130
    if args.json:
        print(manifest.model_dump_json(indent=2))
        return 0
    t, d, a = manifest.training, manifest.data, manifest.artifacts
    print(f"trained {t['steps']} step(s) on {d['records']} record(s) → {d['sequences']} "
          f"sequence(s), {d['tokens']} tokens ({d['target_tokens']} target); "
          f"{t['seconds_per_step']} s/step, {t['tokens_per_second']} tok/s on {t['device']}")
    if d["dropped_too_long"]:
        print(f"{len(d['dropped_too_long'])} record(s) longer than --max-length "
              f"{args.max_length} were left out: {d['dropped_too_long']}")
    if manifest.evaluation:
        e = manifest.evaluation
        print(f"held out {e['tasks']} task(s), {e['records']} record(s): " + "; ".join(
            f"{who} loss {e[who]['loss']}, exact {e[who]['exact']:.0%}, first token "
            f"{e[who]['first']:.0%}" + (f", tool {e[who]['tool']:.0%}"
                                        if e[who]['tool'] is not None else "")
            for who in ("base", "adapter")))
    print(f"PEFT adapter: {a['peft']['path']} ({a['peft']['bytes']} bytes)")
    if "gguf" in a:
        print(f"GGUF adapter: {a['gguf']['path']} ({a['gguf']['bytes']} bytes, "
              f"sha256 {a['gguf']['sha256']})")
    return 0
