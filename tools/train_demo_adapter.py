"""Reproduce the demo's shipped LoRA adapter with one command.

    python tools/train_demo_adapter.py [--out DIR] [--install] [--resume]

Two stages, each a synth run and a finetune run (the shipped ``training.json`` is stage 2's
manifest, ``stage1.json`` stage 1's):

1. ``agentrt synth --generate 288 --seed 0 --mix lookup=3,…`` — 288 generated demo requests
   (asserted not to overlap the 52 evaluation tasks; lookups three times and unsatisfiable,
   ambiguous and flight-and-hotel requests twice as often as the other categories, the ones a
   first adapter got wrong most) solved by the programmatic teacher through the real agent,
   about 30 % of them with a repaired first mistake; only verified runs kept.
2. ``agentrt finetune`` — LoRA r=8 on every linear layer of the last 12 decoder layers, calls
   as bare JSON (``--call-style bare``: the 0.5B model's ``<tool_call>`` token is dead), one
   epoch, length-sorted steps (``--batching length``, how it was trained; the default is now
   ``prefix``), bf16 on a CPU with native bf16 (≈40 minutes on 2 Intel cores with AMX; a CPU
   without it trains in float32 — ``--precision auto`` — and takes longer; CUDA when
   present).
3. stage 2: ``agentrt synth --generate 90 --seed 1 --mix lookup=4,ambiguous=3,…`` — 90 new
   generated requests (another seed: other routes, dates and names; again asserted not to
   overlap the evaluation), weighted to the kinds the stage-1 adapter failed most (look-ups,
   ambiguous requests, hotels, trips, groups, cancels), and ``agentrt finetune
   --init-adapter STAGE1/adapter.gguf`` — one epoch from the stage-1 weights at lr 2e-4
   (18 steps, ≈41 minutes on 2 AMD EPYC cores in float32).
4. ``--install`` copies stage 2's ``adapter.gguf`` and ``training.json`` (and stage 1's
   manifest as ``stage1.json``) into ``tools/agentrt_demo/data/adapter/``, where ``agentrt
   demo`` and ``agentrt eval`` pick it up.

Needs the training extra: ``pip install -e '.[train,embedded]'``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

#: the settings the shipped adapter was trained with (its training.json records them too)
SYNTH = ["--generate", "288", "--seed", "0",
         "--mix", "lookup=3,unsatisfiable=2,ambiguous=2,flight_and_hotel=2"]
FINETUNE = ["--epochs", "1", "--rank", "8", "--alpha", "16", "--targets", "all",
            "--top-layers", "12", "--call-style", "bare", "--lr", "3e-4",
            "--batch-tokens", "24576", "--batching", "length",
            "--micro-batch-tokens", "4096", "--checkpoint-every", "5", "--seed", "0"]
#: stage 2: continued training on requests of the kinds stage 1 failed most
SYNTH2 = ["--generate", "90", "--seed", "1", "--mix",
          "lookup=4,ambiguous=3,flight_and_hotel=2,hotel=2,multi_passenger=2,unsatisfiable=2,"
          "cancel=2"]
FINETUNE2 = ["--epochs", "1", "--call-style", "bare", "--lr", "2e-4", "--batch-tokens", "24576",
             "--micro-batch-tokens", "4096", "--batching", "prefix", "--checkpoint-every", "3",
             "--seed", "1"]
SHIPPED = Path(__file__).resolve().parent / "agentrt_demo" / "data" / "adapter"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="demo-adapter", type=Path,
                        help="working directory (default ./demo-adapter)")
    parser.add_argument("--install", action="store_true",
                        help="copy the adapter and its manifest into the demo package")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted run")
    args = parser.parse_args(argv)
    from agentrt.cli import main as agentrt

    args.out.mkdir(parents=True, exist_ok=True)
    stages = [(SYNTH, FINETUNE, args.out / "steps.jsonl", args.out / "run", []),
              (SYNTH2, FINETUNE2, args.out / "steps2.jsonl", args.out / "run2",
               ["--init-adapter", str(args.out / "run" / "adapter.gguf")])]
    for synth, finetune, steps, run, init in stages:
        if args.resume and (run / "adapter.gguf").is_file() and (run / "training.json").is_file():
            continue  # this stage finished
        if not (args.resume and steps.is_file()):
            code = agentrt(["synth", *synth, "--out", str(steps)])
            if code:
                return int(code)
        code = agentrt(["finetune", str(steps), "--out", str(run), *finetune, *init,
                        *(["--resume"] if args.resume else [])])
        if code:
            return int(code)
    if args.install:
        SHIPPED.mkdir(parents=True, exist_ok=True)
        for name in ("adapter.gguf", "training.json"):
            shutil.copy2(args.out / "run2" / name, SHIPPED / name)
        shutil.copy2(args.out / "run" / "training.json", SHIPPED / "stage1.json")
        print(f"installed the adapter in {SHIPPED}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
