"""Backends stage: a reply that has fallen into a loop is stopped, not generated to the end.

A small model at low temperature sometimes falls into a loop — ``…BUD1430000000000…`` or the
same three words again and again — and then writes until ``max_tokens``: on this CPU that is
tens of seconds (384 tokens at 8–20 tokens/s) spent on a reply the search will refuse anyway.
:class:`RunawayStop` is a llama-cpp-python stopping criterion: it stops generation as soon as
the last ``window`` generated tokens repeat one short block (period 1 to ``max_period``
tokens), and remembers that it fired so the caller can report the reply as a runaway (an
unparseable candidate with that reason) instead of passing the loop on as an answer.

The window is long enough that ordinary text does not trip it (32 tokens of one block of at
most 6 tokens: a row of 32 zeros, sixteen ``ab`` pairs, eight times a 4-token phrase). The
cost is one comparison of the window per generated token.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["RunawayStop"]


class RunawayStop:
    """``stop(input_ids, logits) -> bool`` for ``create_completion(stopping_criteria=[stop])``:
    true once the generated tokens (those after ``start``) end in ``window`` tokens made of one
    block of ≤ ``max_period`` tokens repeated; :attr:`fired` says whether it stopped them,
    :attr:`period` the block's length."""

    __slots__ = ("fired", "max_period", "period", "start", "window")

    def __init__(self, start: int, *, window: int = 32, max_period: int = 6) -> None:
        if window <= 2 * max_period:
            raise ValueError("window must hold the block at least twice")
        self.start = start
        self.window = window
        self.max_period = max_period
        self.fired = False
        self.period = 0

    def __call__(self, input_ids: Any, _logits: Any = None) -> bool:
        if self.fired:
            return True
        if len(input_ids) - self.start < self.window:
            return False
        tail = np.asarray(input_ids[-self.window:])
        for period in range(1, self.max_period + 1):
            if np.array_equal(tail[period:], tail[:-period]):
                self.fired, self.period = True, period
                return True
        return False
