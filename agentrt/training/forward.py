"""Training stage: the loss of one micro-batch — reply-only logits and a shared-prefix forward pass.

Every record of a toolset starts with the same system prompt and tool schemas (about 2,500 of
the 3,000 tokens of a demo step). Sequences of a micro-batch are therefore grouped by their
token order, and their longest common prefix is run through the model **once**; its key/value
cache, repeated for each row, is the context of the rows' own suffixes. Gradients flow back
through the cache into the prefix, so loss and gradients equal those of running every sequence
in full (a test checks it) at the cost of ``prefix + Σ suffix`` tokens instead of
``Σ (prefix + suffix)``.

Only the hidden states at positions that predict a reply token go through ``lm_head``: the
152k-word vocabulary times every prompt position would cost more than the rest of the model.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from agentrt.training.examples import TokenSequence

__all__ = ["MIN_SHARED_PREFIX", "common_prefix", "computed_tokens", "loss_sum", "micro_batches"]

#: below this many shared tokens a group runs in full (two passes would not pay)
MIN_SHARED_PREFIX = 64


def common_prefix(group: Sequence[TokenSequence]) -> int:
    """Tokens every sequence of ``group`` starts with, leaving each at least one of its own."""
    first, shortest = group[0].ids, min(len(s) for s in group)
    n = shortest - 1
    for seq in group[1:]:
        k = 0
        limit = min(n, len(seq))
        while k < limit and seq.ids[k] == first[k]:
            k += 1
        n = k
    return max(n, 0)


def _shared(group: Sequence[TokenSequence], sharing: bool) -> int:
    if not sharing or len(group) < 2:
        return 0
    n = common_prefix(group)
    return n if n >= MIN_SHARED_PREFIX else 0


def computed_tokens(group: Sequence[TokenSequence], *, sharing: bool = True) -> int:
    """Token positions the model evaluates for ``group`` (padding included)."""
    prefix = _shared(group, sharing)
    return prefix + len(group) * (max(len(s) for s in group) - prefix)


def micro_batches(sequences: Sequence[TokenSequence], limit: int, *, sharing: bool = True
                  ) -> Iterator[list[TokenSequence]]:
    """Consecutive groups in token order (neighbours share the longest prefixes) whose
    evaluated size (:func:`computed_tokens`) stays within ``limit``; a sequence longer than
    ``limit`` is a group of its own."""
    group: list[TokenSequence] = []
    for seq in sorted(sequences, key=lambda s: s.ids):
        if group and computed_tokens([*group, seq], sharing=sharing) > limit:
            yield group
            group = []
        group.append(seq)
    if group:
        yield group


def loss_sum(model: Any, group: list[TokenSequence], pad_id: int, device: Any, *,
             sharing: bool = True) -> Any:
    """Summed cross-entropy over the group's reply tokens (a ``peft`` model's base causal LM
    underneath); ``sharing`` runs a common prefix once (module docstring)."""
    import torch

    causal_lm = model.get_base_model()
    prefix = _shared(group, sharing)
    width = max(len(s) for s in group) - prefix
    ids = torch.full((len(group), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(group), prefix + width), dtype=torch.long)
    mask[:, :prefix] = 1
    for i, seq in enumerate(group):
        ids[i, : len(seq) - prefix] = torch.tensor(seq.ids[prefix:])
        mask[i, prefix: len(seq)] = 1
    ids, mask = ids.to(device), mask.to(device)
    kwargs: dict[str, Any] = {}
    prefix_hidden = None
    if prefix:
        from transformers import DynamicCache

        cache = DynamicCache(config=causal_lm.config)
        shared = torch.tensor([group[0].ids[:prefix]], device=device)
        prefix_hidden = causal_lm.model(input_ids=shared, past_key_values=cache,
                                        use_cache=True).last_hidden_state[0]
        cache.batch_repeat_interleave(len(group))
        kwargs = {"past_key_values": cache, "use_cache": True}
    hidden = causal_lm.model(input_ids=ids, attention_mask=mask, **kwargs).last_hidden_state
    picked: list[Any] = []
    targets: list[int] = []
    for i, seq in enumerate(group):
        positions = seq.loss_positions()
        inside = [t for t in positions if t < prefix]
        after = [t - prefix for t in positions if t >= prefix]
        if inside and prefix_hidden is not None:
            picked.append(prefix_hidden[torch.tensor(inside, device=device)])
        if after:
            picked.append(hidden[i, torch.tensor(after, device=device)])
        targets.extend(seq.ids[t + 1] for t in (*inside, *(a + prefix for a in after)))
    logits = causal_lm.lm_head(torch.cat(picked))
    return torch.nn.functional.cross_entropy(
        logits.float(), torch.tensor(targets, device=device), reduction="sum")
