"""Training stage: the loss of one micro-batch — reply-only logits and a shared-prefix forward pass.

Every record of a toolset starts with the same system prompt and tool schemas (about 2,500 of
the 3,000 tokens of a demo step). Sequences of a micro-batch are therefore grouped by their
token order, and their longest common prefix is run through the model **once**; its key/value
cache, repeated for each row, is the context of the rows' own suffixes. Gradients flow back
through the cache into the prefix, so loss and gradients equal those of running every sequence
in full (a test checks it) at the cost of ``prefix + Σ suffix`` tokens instead of
``Σ (prefix + suffix)``.

**The step's prefix once** (:func:`backward_step`): every sequence of an optimizer step
starts with the same system prompt and tools, and the weights do not change inside a step, so
that prefix runs through the model once per *step*, not once per micro-batch. Its key/value
tensors become leaves for the micro-batches (each backward adds its gradient to them); after
the last one, a single backward through the prefix pass carries the summed gradient into the
LoRA weights. Loss and gradients equal those of running every sequence in full (a test checks
it); the cost is ``prefix + Σ suffix`` tokens for the whole step. On the demo data (2,845
shared tokens, median sequence 3,517) that is about a fifth of the unshared cost.

Only the hidden states at positions that predict a reply token go through ``lm_head``: the
152k-word vocabulary times every prompt position would cost more than the rest of the model.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from agentrt.training.examples import TokenSequence

__all__ = [
    "MIN_SHARED_PREFIX",
    "backward_step",
    "common_prefix",
    "computed_tokens",
    "loss_sum",
    "micro_batches",
    "step_prefix",
]

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


def step_prefix(sequences: Sequence[TokenSequence]) -> int:
    """Tokens shared by every sequence of a step, ending before the first position whose
    logits carry a loss (0 when below :data:`MIN_SHARED_PREFIX` or fewer than two sequences)."""
    if len(sequences) < 2:
        return 0
    n = common_prefix(sequences)
    first_loss = min((min(p) for s in sequences if (p := s.loss_positions())), default=n)
    n = min(n, first_loss)
    return n if n >= MIN_SHARED_PREFIX else 0


def _suffix_loss(causal_lm: Any, group: Sequence[TokenSequence], prefix: int,
                 kv: Sequence[tuple[Any, Any]], pad_id: int, device: Any) -> Any:
    """Summed cross-entropy of ``group``'s reply tokens, their first ``prefix`` tokens given as
    the key/value tensors ``kv`` (one pair a layer, batch 1)."""
    import torch
    from transformers import DynamicCache

    rows = len(group)
    width = max(len(s) for s in group) - prefix
    ids = torch.full((rows, width), pad_id, dtype=torch.long)
    mask = torch.zeros((rows, prefix + width), dtype=torch.long)
    mask[:, :prefix] = 1
    for i, seq in enumerate(group):
        ids[i, : len(seq) - prefix] = torch.tensor(seq.ids[prefix:])
        mask[i, prefix: len(seq)] = 1
    cache = DynamicCache(ddp_cache_data=[(k.expand(rows, -1, -1, -1), v.expand(rows, -1, -1, -1))
                                         for k, v in kv], config=causal_lm.config)
    hidden = causal_lm.model(input_ids=ids.to(device), attention_mask=mask.to(device),
                             past_key_values=cache, use_cache=True).last_hidden_state
    picked: list[Any] = []
    targets: list[int] = []
    for i, seq in enumerate(group):
        positions = [t - prefix for t in seq.loss_positions()]
        picked.append(hidden[i, torch.tensor(positions, device=device)])
        targets.extend(seq.ids[t + prefix + 1] for t in positions)
    logits = causal_lm.lm_head(torch.cat(picked))
    return torch.nn.functional.cross_entropy(
        logits.float(), torch.tensor(targets, device=device), reduction="sum")


def backward_step(model: Any, sequences: Sequence[TokenSequence], pad_id: int, device: Any, *,
                  limit: int, scale: float, sharing: bool = True,
                  autocast: Callable[[], contextlib.AbstractContextManager[Any]] =
                  contextlib.nullcontext) -> tuple[float, int]:
    """Accumulate the gradients of one optimizer step (``scale`` × the summed reply loss of
    ``sequences``) into ``model``; return the scaled loss and the token positions evaluated.

    With ``sharing``, the step's common prefix runs once (module docstring) and micro-batches
    hold at most ``limit`` suffix positions (rows × width); otherwise, or when the step shares
    too little, micro-batches come from :func:`micro_batches` and :func:`loss_sum`."""
    import torch

    prefix = step_prefix(sequences) if sharing else 0
    total, computed = 0.0, 0
    if not prefix:
        for micro in micro_batches(sequences, limit, sharing=sharing):
            with autocast():
                loss = loss_sum(model, micro, pad_id, device, sharing=sharing) * scale
            loss.backward()
            total += float(loss.detach())
            computed += computed_tokens(micro, sharing=sharing)
        return total, computed
    from transformers import DynamicCache

    causal_lm = model.get_base_model()
    cache = DynamicCache(config=causal_lm.config)
    with autocast():
        causal_lm.model(input_ids=torch.tensor([sequences[0].ids[:prefix]], device=device),
                        past_key_values=cache, use_cache=True)
    roots: list[tuple[Any, Any]] = [(getattr(layer, "keys"), getattr(layer, "values"))  # noqa: B009
                                    for layer in cache.layers]
    # leaves only where a gradient can flow (layers below the lowest adapted one have none)
    leaves = [(k.detach().requires_grad_(k.requires_grad), v.detach().requires_grad_(
        v.requires_grad)) for k, v in roots]
    computed = prefix
    group: list[TokenSequence] = []

    def flush() -> None:
        nonlocal total, computed
        with autocast():
            loss = _suffix_loss(causal_lm, group, prefix, leaves, pad_id, device) * scale
        loss.backward()
        total += float(loss.detach())
        computed += len(group) * (max(len(s) for s in group) - prefix)
        group.clear()

    for seq in sorted(sequences, key=len):
        width = max([len(seq), *(len(s) for s in group)]) - prefix
        if group and (len(group) + 1) * width > limit:
            flush()
        group.append(seq)
    flush()
    outputs, grads = [], []
    for root, leaf in zip((t for pair in roots for t in pair),
                          (t for pair in leaves for t in pair), strict=True):
        if leaf.grad is not None:
            outputs.append(root)
            grads.append(leaf.grad)
    if outputs:  # one backward through the prefix pass, with every micro-batch's gradient
        torch.autograd.backward(outputs, grad_tensors=grads)
    return total, computed
