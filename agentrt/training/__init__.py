"""Training stage (above the agent and synth): ``agentrt finetune`` — LoRA supervised fine-tuning
of the local model on agentrt's own verified trajectories (the records ``agentrt synth``
writes), exported as a PEFT adapter (vLLM) and a GGUF LoRA adapter (llama.cpp).

The parts, in pipeline order:

* :mod:`~agentrt.training.records` — read and check the ``agentrt.step/1`` JSONL records (a
  broken or foreign line is a :class:`~agentrt.training.errors.DataError` with its line number);
* :mod:`~agentrt.training.examples` — the training text of a step (the native backend's prompt,
  the reply in the model's own format, end of turn; loss on the reply only), prefix packing
  and length-sorted batches;
* :mod:`~agentrt.training.base` — the base model from the shipped GGUF or an HF directory;
* :mod:`~agentrt.training.trainer` — the LoRA loop (bf16 autocast on CPU, CUDA when present,
  logits only where a reply token is predicted, atomic checkpoints, resume, the loss curve);
* :mod:`~agentrt.training.export` — PEFT directory and GGUF adapter;
* :mod:`~agentrt.training.adapter_import` — an existing adapter (either form) read back in its
  own shape, to continue training from it (``--init-adapter``);
* :mod:`~agentrt.training.pipeline` — all of it as :func:`finetune`, with ``training.json``.

Torch, transformers, peft and gguf come with the optional extra ``agentrt[train]``; importing
this package needs none of them (records and packing run without torch).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentrt._lazy import attach

if TYPE_CHECKING:
    from agentrt.training.errors import DataError, TrainExtraMissing, TrainingError
    from agentrt.training.pipeline import FinetuneManifest, finetune
    from agentrt.training.records import TrainingRecord, read_records
    from agentrt.training.trainer import LoraSettings, TrainSettings

__all__ = [
    "DataError",
    "FinetuneManifest",
    "LoraSettings",
    "TrainExtraMissing",
    "TrainSettings",
    "TrainingError",
    "TrainingRecord",
    "finetune",
    "read_records",
]

__getattr__, __dir__ = attach(__name__, {
    "DataError": "agentrt.training.errors",
    "TrainExtraMissing": "agentrt.training.errors",
    "TrainingError": "agentrt.training.errors",
    "FinetuneManifest": "agentrt.training.pipeline",
    "finetune": "agentrt.training.pipeline",
    "TrainingRecord": "agentrt.training.records",
    "read_records": "agentrt.training.records",
    "LoraSettings": "agentrt.training.trainer",
    "TrainSettings": "agentrt.training.trainer",
}, __all__)
