"""Training stage: records → token sequences with the reply tokens marked, packed and batched.

The text of a step is the prompt the native backend sends —
:func:`agentrt.backends.native.render_prompt` over the record's messages and tools, the GGUF's
own chat template — followed by the reply in the model's own format and the end-of-turn token:

* a call: ``<tool_call>\\n{"name": …, "arguments": {…}}\\n</tool_call>`` (the template's and
  :class:`~agentrt.backends.native.NativeDecoder`'s form; a thought before a call is dropped,
  since native decoding opens a call at its first token),
* an answer, a decline or a question: the plain text.

In the ``bare`` call style (``--call-style bare``, see :mod:`agentrt.backends.native`) a call is
the JSON object alone, in the target and in the prompt's earlier turns alike.

Prompt and reply are tokenized apart, as at inference (the prompt is tokenized; the reply is
generated after it); the loss covers the reply tokens and the end of turn only.

Packing: the steps of one trajectory share their prompt — step *k+1*'s prompt holds step *k*'s
prompt and reply — so a sequence that is a token prefix of another is folded into it: one
forward pass, the loss of both replies, exactly the same gradients (causal attention: each
reply sees the same tokens before it). Batches group sequences of similar length (sorted), so
padding stays small. Nothing here needs torch.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from agentrt.backends.native import CALL_CLOSE, CALL_OPEN, ChatTemplate, bare_call, render_prompt
from agentrt.training.records import TrainingRecord

__all__ = [
    "BATCHINGS",
    "Batch",
    "Packing",
    "StepText",
    "TokenSequence",
    "make_batches",
    "pack",
    "reply_text",
    "step_text",
    "tokenize_steps",
]

Tokenize = Callable[[str], list[int]]


@dataclass(frozen=True, slots=True, kw_only=True)
class StepText:
    """One step as text: the prompt the backend sends, the reply the model should write."""

    prompt: str
    target: str


def reply_text(record: TrainingRecord, *, bare: bool = False) -> str:
    """The reply in the model's native format (no end-of-turn token); ``bare``: a call as the
    JSON object alone."""
    call = record.call
    if call is None:
        return record.answer or ""
    name, arguments = call
    body = bare_call(name, arguments)
    return body if bare else f"{CALL_OPEN}\n{body}\n{CALL_CLOSE}"


def step_text(template: ChatTemplate, record: TrainingRecord, *, eot: str,
              bare: bool = False) -> StepText:
    """The prompt (``render_prompt``) and the target (reply + ``eot``) of ``record``, calls in
    the bare style when ``bare``."""
    return StepText(prompt=render_prompt(template, record.messages, record.tools,
                                         bare_calls=bare),
                    target=reply_text(record, bare=bare) + eot)


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenSequence:
    """Token ids with the spans (``[start, end)``) whose tokens the loss covers (a span twice
    when two records share it: it counts twice)."""

    ids: tuple[int, ...]
    spans: tuple[tuple[int, int], ...]
    records: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def target_tokens(self) -> int:
        return sum(end - start for start, end in self.spans)

    def loss_positions(self) -> list[int]:
        """Positions ``t`` whose logits predict a target token (the token at ``t + 1``)."""
        return [t - 1 for start, end in self.spans for t in range(max(start, 1), end)]


def tokenize_steps(texts: Sequence[StepText], tokenize: Tokenize) -> list[TokenSequence]:
    """One sequence a step: ``tokenize(prompt) + tokenize(target)``, the target marked."""
    out = []
    for index, text in enumerate(texts):
        prompt = tokenize(text.prompt)
        target = tokenize(text.target)
        out.append(TokenSequence(ids=(*prompt, *target),
                                 spans=((len(prompt), len(prompt) + len(target)),),
                                 records=(index,)))
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Packing:
    """The sequences to train on, and what packing and the length limit did."""

    sequences: tuple[TokenSequence, ...]
    steps: int                #: step sequences before packing
    dropped: tuple[int, ...]  #: records whose sequence is longer than the limit
    tokens_before: int        #: tokens of the step sequences (the unpacked cost)

    @property
    def tokens(self) -> int:
        return sum(len(s) for s in self.sequences)

    @property
    def target_tokens(self) -> int:
        return sum(s.target_tokens for s in self.sequences)


def pack(sequences: Sequence[TokenSequence], *, max_length: int) -> Packing:
    """Fold every sequence that is a token prefix of another into it (see the module
    docstring); sequences longer than ``max_length`` are dropped (their records listed).

    In lexicographic order all extensions of a sequence follow it directly, so a sequence is
    a prefix of some other exactly when it is a prefix of its successor; folding runs from the
    end, so a chain ``a ⊂ b ⊂ c`` ends up in ``c``. A span is kept once per record, so equal
    sequences (the same step twice) fold together and still count twice in the loss.
    """
    kept = [s for s in sequences if len(s) <= max_length]
    dropped = tuple(r for s in sequences if len(s) > max_length for r in s.records)
    order = sorted(kept, key=lambda s: s.ids)
    merged: list[TokenSequence] = []
    for seq in reversed(order):
        if merged:
            nxt = merged[-1]
            if len(seq) <= len(nxt) and nxt.ids[: len(seq)] == seq.ids:
                spans = tuple(sorted(seq.spans + nxt.spans))
                merged[-1] = TokenSequence(ids=nxt.ids, spans=spans,
                                           records=tuple(sorted(seq.records + nxt.records)))
                continue
        merged.append(seq)
    merged.reverse()
    return Packing(sequences=tuple(merged), steps=len(sequences), dropped=dropped,
                   tokens_before=sum(len(s) for s in kept))


@dataclass(frozen=True, slots=True, kw_only=True)
class Batch:
    """Sequences trained in one optimizer step (run through the model in micro-batches)."""

    sequences: tuple[TokenSequence, ...]

    @property
    def tokens(self) -> int:
        return sum(len(s) for s in self.sequences)

    @property
    def target_tokens(self) -> int:
        return sum(s.target_tokens for s in self.sequences)


#: how :func:`make_batches` groups sequences into optimizer steps
BATCHINGS = ("prefix", "mixed", "length")


def make_batches(sequences: Sequence[TokenSequence], *, batch_tokens: int, seed: int,
                 epoch: int, batching: str = "prefix") -> list[Batch]:
    """Batches of about ``batch_tokens`` tokens (at least one sequence each), in an order
    shuffled by ``(seed, epoch)`` — the same arguments give the same batches.

    ``batching="prefix"`` (default): sequences in token order, so those that begin alike (the
    same system prompt and tools) share a step and its prefix pass, while the requests that
    follow mix kinds of task within the step. ``"mixed"``: shuffled order — every step a mix,
    but steps whose sequences were offered different tools share almost no prefix (several
    times the compute). ``"length"``: length-sorted — least padding, but with few steps a kind
    of task (short lookups, long trips) lands in a handful of steps only. Each step's
    micro-batches are grouped by length either way."""
    if batching not in BATCHINGS:
        raise ValueError(f"batching must be one of {', '.join(BATCHINGS)}, not {batching!r}")
    rng = random.Random(f"{seed}:{epoch}")
    items = list(sequences)
    rng.shuffle(items)  # ties in length are broken differently each epoch
    if batching == "length":
        items.sort(key=len)
    elif batching == "prefix":
        items.sort(key=lambda seq: seq.ids)
    batches: list[Batch] = []
    current: list[TokenSequence] = []
    size = 0
    for seq in items:
        if current and size + len(seq) > batch_tokens:
            batches.append(Batch(sequences=tuple(current)))
            current, size = [], 0
        current.append(seq)
        size += len(seq)
    if current:
        batches.append(Batch(sequences=tuple(current)))
    rng.shuffle(batches)
    return batches
