"""Training stage: calibrate the first move of a fine-tuned model — call or answer — in llama.cpp.

Qwen2.5's output row for ``<tool_call>`` is barely trained (the stock 0.5B model gives it
≈e^-23 after ``<|im_start|>assistant``; it writes bare JSON instead), and a LoRA adapter
cannot move that row: ``lm_head`` is tied to the embeddings and is not adapted. The adapter
does learn *when* to call — at a call its logit rises to within a few nats of the top, at an
answer it stays ≈15 below — but greedy decoding would never pick it. The native decoder
therefore adds a bias to that one logit at the first move
(:class:`~agentrt.backends.native.NativeFormat` ``call_bias``), measured here on the
adapter's own training records: for each record, the gap between the ``<tool_call>`` logit and
the best other one; the bias is the middle of the range that classifies the most records
right (call when ``gap + bias > 0``), or none when the model decides as well without one.
``agentrt finetune`` stores it in ``training.json``
(``decoding.call_bias``), where the embedded backend reads it.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from agentrt.training.records import TrainingRecord

__all__ = ["CallBias", "calibrate_call_bias", "fit_call_bias", "measure_gaps"]


@dataclass(frozen=True, slots=True, kw_only=True)
class CallBias:
    """The fitted bias and how well the first move is decided with and without it."""

    call_bias: float
    records: int
    calls: int
    accuracy_without: float
    accuracy_with: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def fit_call_bias(gaps: Sequence[tuple[float, bool]]) -> CallBias:
    """The bias that decides the most records right (``gap + bias > 0`` ⇔ a call); among the
    best, the middle of the widest range of them."""
    if not gaps:
        raise ValueError("no records to calibrate on")
    values = sorted({-g for g, _ in gaps})
    edges = [values[0] - 1.0, *values, values[-1] + 1.0]

    def accuracy(bias: float) -> float:
        return sum((g + bias > 0) == is_call for g, is_call in gaps) / len(gaps)

    candidates = [((a + b) / 2, b - a) for a, b in itertools.pairwise(edges)]
    best = max(accuracy(c) for c, _ in candidates)
    if accuracy(0.0) >= best:  # the model decides as well on its own: no bias
        bias = 0.0
    else:
        bias = max(max((w, c) for c, w in candidates if accuracy(c) == best)[1], 0.0)
    return CallBias(call_bias=round(bias, 3), records=len(gaps),
                    calls=sum(1 for _, c in gaps if c), accuracy_without=accuracy(0.0),
                    accuracy_with=accuracy(bias))


def _sample(records: Sequence[TrainingRecord], limit: int, seed: int) -> list[TrainingRecord]:
    """Up to ``limit`` records, calls and answers alike (half each where possible)."""
    rng = random.Random(seed)
    calls = [r for r in records if r.call is not None]
    answers = [r for r in records if r.call is None]
    rng.shuffle(calls)
    rng.shuffle(answers)
    half = limit // 2
    picked = calls[:max(half, limit - len(answers))] + answers[:max(half, limit - len(calls))]
    return picked[:limit]


def measure_gaps(llm: Any, records: Sequence[TrainingRecord]) -> list[tuple[float, bool]]:
    """``(gap, is_call)`` per record, the prompts fed to ``llm`` (a ``llama_cpp.Llama``) the
    way the embedded backend feeds them (shared prefixes reused)."""
    from agentrt.backends.native import NativeFormat

    fmt = NativeFormat.for_model(llm)
    if fmt is None:
        raise ValueError("the model's chat template renders no tools")
    out = []
    for record in records:
        fmt.feed(fmt.prompt(record.messages, record.tools))
        out.append((fmt.call_gap(), record.call is not None))
    return out


def calibrate_call_bias(base: str | Path, adapter: str | Path,
                        records: Sequence[TrainingRecord], *, limit: int = 48, seed: int = 0,
                        n_ctx: int = 6144) -> CallBias:
    """Load ``base`` + ``adapter`` in llama.cpp (safely, as the embedded backend does) and fit
    the bias on a sample of ``records``."""
    import llama_cpp

    from agentrt.backends import llama_runtime

    params = llama_runtime.choose_load_params()
    llm = llama_runtime.create_llama(llama_cpp, str(base), use_extra_bufts=params.use_extra_bufts,
                                     n_ctx=n_ctx, verbose=False, lora_path=str(adapter))
    try:
        return fit_call_bias(measure_gaps(llm, _sample(records, limit, seed)))
    finally:
        llm.close()
