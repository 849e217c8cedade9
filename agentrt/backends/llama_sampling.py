"""Backends stage: grammar-constrained sampling for the embedded model at the cost of one token.

llama-cpp-python 0.3.36 puts the GBNF grammar first in its sampler chain, so at every generated
token the grammar is matched against all 151 936 vocabulary entries before top-k/top-p cut the
list to a few dozen. :class:`LazyGrammarSampler` does what llama.cpp's own ``common_sampler``
does instead: sample with the ordinary chain (no grammar), check only the chosen token against
the grammar, and apply the grammar to the whole vocabulary only when that token is rejected.
For greedy decoding the result is identical (the best legal token is the best token when the
best token is legal); for sampled decoding a legal token is drawn from the same top-k/top-p
set, as in llama.cpp.

:func:`install` replaces a ``Llama`` instance's sampler factory (``_init_sampler``) with one
that builds this sampler when the request uses only what it implements (temperature, top-k,
top-p, min-p, a seed, a grammar; no penalties, mirostat or logits processors); anything else
goes to llama-cpp-python's own chain.
"""

from __future__ import annotations

import ctypes
from collections import OrderedDict
from typing import Any

import numpy as np

__all__ = ["LazyGrammarSampler", "SamplerStats", "install"]

_TOKEN_DATA = np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)], align=True)


class SamplerStats:
    """Counts of the cheap path (one token checked) and the full-vocabulary fallback."""

    __slots__ = ("fallbacks", "tokens")

    def __init__(self) -> None:
        self.tokens = 0
        self.fallbacks = 0


class LazyGrammarSampler:
    """The ``sample(ctx, idx)`` object ``Llama.sample`` calls, with a lazily applied grammar.

    ``grammar`` is a llama.cpp grammar sampler (owned here, shared across completions through
    the cache in :func:`install`; reset before each use) or None.
    """

    def __init__(self, low: Any, *, n_vocab: int, grammar: Any, temp: float, top_k: int,
                 top_p: float, min_p: float, seed: int, stats: SamplerStats) -> None:
        self._low = low
        self._n_vocab = n_vocab
        self._grammar = grammar
        self._stats = stats
        params = low.llama_sampler_chain_default_params()
        params.no_perf = True
        chain = low.llama_sampler_chain_init(params)
        if temp <= 0.0:
            low.llama_sampler_chain_add(chain, low.llama_sampler_init_greedy())
        else:
            low.llama_sampler_chain_add(chain, low.llama_sampler_init_top_k(top_k))
            low.llama_sampler_chain_add(chain, low.llama_sampler_init_top_p(top_p, 1))
            low.llama_sampler_chain_add(chain, low.llama_sampler_init_min_p(min_p, 1))
            low.llama_sampler_chain_add(chain, low.llama_sampler_init_temp(temp))
            low.llama_sampler_chain_add(chain, low.llama_sampler_init_dist(seed))
        self._chain = chain
        self._one = (low.llama_token_data * 1)()
        self._one_array = low.llama_token_data_array(data=self._one, size=1, selected=-1,
                                                     sorted=False)
        self._full = np.zeros(n_vocab, dtype=_TOKEN_DATA)
        self._full_ids = np.arange(n_vocab, dtype=np.int32)
        if grammar is not None:
            low.llama_sampler_reset(grammar)

    def _legal(self, token: int) -> bool:
        one = self._one[0]
        one.id, one.logit, one.p = token, 0.0, 0.0
        self._one_array.size, self._one_array.selected = 1, -1
        self._low.llama_sampler_apply(self._grammar, ctypes.byref(self._one_array))
        return bool(np.isfinite(self._one[0].logit))

    def sample(self, ctx: Any, idx: int = -1) -> int:
        """The next token for the logits at ``idx`` (negative: from the end of the batch)."""
        low = self._low
        self._stats.tokens += 1
        token = int(low.llama_sampler_sample(self._chain, ctx.ctx, idx))
        if self._grammar is None:
            return token
        if not self._legal(token):
            self._stats.fallbacks += 1
            token = self._sample_full(ctx, idx)
        low.llama_sampler_accept(self._grammar, token)
        return token

    def _sample_full(self, ctx: Any, idx: int) -> int:
        low = self._low
        logits = np.ctypeslib.as_array(low.llama_get_logits_ith(ctx.ctx, idx),
                                       shape=(self._n_vocab,))
        full = self._full
        full["id"] = self._full_ids
        full["logit"] = logits
        full["p"] = 0.0
        array = low.llama_token_data_array(
            data=full.ctypes.data_as(low.llama_token_data_p), size=self._n_vocab,
            selected=-1, sorted=False)
        low.llama_sampler_apply(self._grammar, ctypes.byref(array))
        low.llama_sampler_apply(self._chain, ctypes.byref(array))
        if not 0 <= array.selected < array.size:
            raise RuntimeError("the grammar left no token to sample")
        return int(array.data[array.selected].id)

    def accept(self, token: int) -> None:
        """Feed a token that was not sampled here (llama-cpp-python never does this)."""
        if self._grammar is not None:
            self._low.llama_sampler_accept(self._grammar, token)

    def reset(self) -> None:
        if self._grammar is not None:
            self._low.llama_sampler_reset(self._grammar)
        self._low.llama_sampler_reset(self._chain)

    def close(self) -> None:
        if self._chain is not None:
            self._low.llama_sampler_free(self._chain)
            self._chain = None

    def __del__(self) -> None:
        self.close()


class _GrammarCache:
    """Compiled llama.cpp grammar samplers by GBNF text (an LRU; freed when evicted)."""

    def __init__(self, low: Any, vocab: Any, size: int = 8) -> None:
        self._low = low
        self._vocab = vocab
        self._size = size
        self._items: OrderedDict[str, Any] = OrderedDict()

    def get(self, text: str, root: str) -> Any:
        key = f"{root}\0{text}"
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        sampler = self._low.llama_sampler_init_grammar(self._vocab, text.encode(),
                                                       root.encode())
        if not sampler:
            raise ValueError("llama.cpp could not parse the grammar")
        self._items[key] = sampler
        while len(self._items) > self._size:
            _, old = self._items.popitem(last=False)
            self._low.llama_sampler_free(old)
        return sampler

    def close(self) -> None:
        while self._items:
            _, old = self._items.popitem()
            self._low.llama_sampler_free(old)


def _supported(kw: dict[str, Any]) -> bool:
    neutral = (kw.get("repeat_penalty", 1.0) == 1.0 and kw.get("frequency_penalty", 0.0) == 0.0
               and kw.get("presence_penalty", 0.0) == 0.0)
    return (neutral and not kw.get("mirostat_mode") and kw.get("logits_processor") is None
            and kw.get("typical_p", 1.0) == 1.0 and float(kw.get("temp", 0.8)) >= 0.0)


def install(llm: Any, low: Any) -> SamplerStats:
    """Make ``llm`` (a ``llama_cpp.Llama``) sample through :class:`LazyGrammarSampler`.

    Returns the counters the samplers update. Raises AttributeError when the binding lacks
    what this relies on (the caller then keeps the stock sampler).
    """
    original = type(llm)._init_sampler
    model = llm._model
    vocab = low.llama_model_get_vocab(model.model)
    n_vocab = int(low.llama_vocab_n_tokens(vocab))
    grammars = _GrammarCache(low, vocab)
    stats = SamplerStats()

    def init_sampler(**kw: Any) -> Any:
        if not _supported(kw):
            return original(llm, **kw)
        grammar = kw.get("grammar")
        compiled = grammars.get(grammar._grammar, grammar._root) if grammar is not None else None
        return LazyGrammarSampler(low, n_vocab=n_vocab, grammar=compiled,
                                  temp=float(kw.get("temp", 0.8)), top_k=int(kw.get("top_k", 40)),
                                  top_p=float(kw.get("top_p", 0.95)),
                                  min_p=float(kw.get("min_p", 0.05)), seed=int(llm._seed),
                                  stats=stats)

    llm._init_sampler = init_sampler
    llm._agentrt_grammars = grammars  # freed with the model (see EmbeddedBackend.aclose)
    return stats
