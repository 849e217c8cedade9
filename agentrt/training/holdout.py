"""Training stage: held-out tasks — does the adapter do on tasks it never saw what it does on
the ones it trained on?

A low training loss says little on its own: 240 generated tasks and a 0.5B model let an adapter
learn the data's *distribution* (which call usually comes first) rather than the request. So
``agentrt finetune --holdout SHARE`` keeps whole tasks out of training (every step of a task on
the same side, chosen by a hash of the task id and the seed) and scores base and adapter on
them with teacher forcing:

* ``loss``: mean cross-entropy per reply token;
* ``exact``: the share of replies whose every token is the model's top choice — the reply that
  greedy decoding would write, token for token;
* ``first``: the share whose first token is the top choice (for bare calls: call or answer);
* ``tool``: the share of call replies whose tool-name tokens are all top choices.

One no-grad forward pass per sequence; logits only at reply positions.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from agentrt.errors import ConfigError
from agentrt.training.examples import TokenSequence
from agentrt.training.records import TrainingRecord

__all__ = ["HoldoutScore", "name_spans", "score", "split_holdout", "task_key"]

_NAME = re.compile(r'^\s*(?:<tool_call>\s*)?\{\s*"name"\s*:\s*"[^"]*"')


def task_key(record: TrainingRecord) -> str:
    """Which task a record belongs to (its steps share it): provenance task id and run."""
    prov = record.provenance
    task = prov.get("task_id") or prov.get("query") or record.messages[-1].get("content")
    return f"{task}#{prov.get('run', 0)}"


def split_holdout(records: Sequence[TrainingRecord], share: float, *, seed: int = 0
                  ) -> tuple[list[TrainingRecord], list[TrainingRecord]]:
    """``(train, held_out)``: about ``share`` of the tasks, whole, held out (deterministic for a
    seed; at least one task each side when ``share`` > 0 and there are two tasks or more)."""
    if not 0.0 <= share < 1.0:
        raise ConfigError(f"--holdout must be a share in [0, 1), not {share}")
    if share == 0.0:
        return list(records), []
    keys = sorted({task_key(r) for r in records},
                  key=lambda k: hashlib.sha256(f"{seed}:{k}".encode()).hexdigest())
    if len(keys) < 2:
        return list(records), []
    count = min(len(keys) - 1, max(1, round(share * len(keys))))
    held = set(keys[:count])
    return ([r for r in records if task_key(r) not in held],
            [r for r in records if task_key(r) in held])


def name_spans(seq: TokenSequence, decode: Callable[[list[int]], str]
               ) -> dict[tuple[int, int], tuple[int, int]]:
    """For each call reply of ``seq`` (tagged or bare), the tokens from the reply's start to
    the end of its tool name: the part of a call that picks the tool."""
    out: dict[tuple[int, int], tuple[int, int]] = {}
    for span in seq.spans:
        start, end = span
        head = decode(list(seq.ids[start:end]))
        if not _NAME.match(head):
            continue
        for k in range(start + 1, end + 1):
            if _NAME.match(decode(list(seq.ids[start:k]))):
                out[span] = (max(start, 1), k)
                break
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class HoldoutScore:
    """Teacher-forced scores of one model on held-out replies (module docstring)."""

    replies: int
    tokens: int
    loss: float
    exact: float
    first: float
    tool: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def score(model: Any, sequences: Sequence[TokenSequence], device: Any, *,
          tool_spans: Sequence[dict[tuple[int, int], tuple[int, int]]] | None = None,
          autocast: Any = None) -> HoldoutScore:
    """Score ``model`` (a ``peft`` model, or anything with ``get_base_model()``) on the reply
    spans of ``sequences``. ``tool_spans[i]`` maps a reply span of sequence ``i`` to the token
    span of its tool name (absent for answers)."""
    import contextlib

    import torch

    causal_lm = model.get_base_model() if hasattr(model, "get_base_model") else model
    ctx = autocast or contextlib.nullcontext
    replies = tokens = exact = first = tools = tool_ok = 0
    nll = 0.0
    was_training = causal_lm.training
    causal_lm.eval()
    try:
        with torch.no_grad():
            for i, seq in enumerate(sequences):
                positions = seq.loss_positions()
                if not positions:
                    continue
                with ctx():
                    hidden = causal_lm.model(
                        input_ids=torch.tensor([seq.ids], device=device)).last_hidden_state[0]
                    logits = causal_lm.lm_head(hidden[torch.tensor(positions, device=device)])
                logits = logits.float()
                targets = torch.tensor([seq.ids[t + 1] for t in positions], device=device)
                nll += float(torch.nn.functional.cross_entropy(logits, targets, reduction="sum"))
                hits = (logits.argmax(-1) == targets).tolist()
                at = {t + 1: h for t, h in zip(positions, hits, strict=True)}
                for span in seq.spans:
                    start, end = max(span[0], 1), span[1]
                    if end <= start:
                        continue
                    replies += 1
                    tokens += end - start
                    exact += all(at[p] for p in range(start, end))
                    first += bool(at[start])
                    name = (tool_spans[i] if tool_spans else {}).get(span)
                    if name is not None:
                        tools += 1
                        tool_ok += all(at[p] for p in range(*name))
    finally:
        causal_lm.train(was_training)
    return HoldoutScore(replies=replies, tokens=tokens,
                        loss=round(nll / tokens, 4) if tokens else 0.0,
                        exact=round(exact / replies, 4) if replies else 0.0,
                        first=round(first / replies, 4) if replies else 0.0,
                        tool=round(tool_ok / tools, 4) if tools else None)
