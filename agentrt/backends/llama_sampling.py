"""Backends stage: decoding for the embedded model — the grammar checked at the cost of one
token, and prompt-lookup drafts verified in one batch.

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

Prompt lookup (``lookahead`` > 0): a tool call mostly copies text that is already in the
conversation (tool and argument names, ids and values from the request and from observations,
the JSON of earlier steps). After each sampled token, :class:`PromptLookup` finds the latest
earlier occurrence of the last few tokens and proposes the tokens that followed it there; the
sampled token and the draft are evaluated in one batch and each draft token is kept only while
it equals the token the sampler draws at its position (llama-cpp-python's ``generate`` does
that check). The output is what token-by-token decoding gives (for sampling: the same
distribution), up to the floating-point differences between llama.cpp's batched and
single-token kernels (which can flip a near-tie, as a different ``n_batch`` can). Measured on
the demo's steps (1 thread): ~5.5 tokens kept per batch of 5, generation time 2.2x shorter;
drafts of 2–6 tokens do about equally well, 10 worse. :func:`install` replaces the instance's ``eval`` so
that only the last ``lookahead + 1`` positions of a batch compute logits (llama-cpp-python
would otherwise need ``logits_all``: logits for every prompt token).
"""

from __future__ import annotations

import ctypes
import time
from collections import OrderedDict
from typing import Any

import numpy as np

from agentrt.backends.llama_prefix import MIN_REUSE, PrefixStore

__all__ = ["DecodeStats", "LazyGrammarSampler", "PromptLookup", "SamplerStats", "install"]

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


class PromptLookup:
    """A draft of up to ``max_draft`` tokens: what followed the latest earlier occurrence of the
    last ``ngram`` tokens (``ngram`` from ``max_ngram`` down to ``min_ngram``)."""

    def __init__(self, *, max_draft: int = 6, max_ngram: int = 3, min_ngram: int = 2,
                 window: int = 4096) -> None:
        self.max_draft = max_draft
        self.max_ngram = max_ngram
        self.min_ngram = min_ngram
        self.window = window

    def __call__(self, input_ids: Any, /, **_: Any) -> Any:
        ids = np.asarray(input_ids[-self.window:], dtype=np.int32)
        n = ids.shape[0]
        for size in range(min(self.max_ngram, n - 1), self.min_ngram - 1, -1):
            tail = ids[n - size:]
            # candidate starts: where the tail's first token occurs (cheap), checked in full
            starts = np.flatnonzero(ids[: n - size] == tail[0])
            for start in starts[::-1]:  # the latest occurrence first
                if np.array_equal(ids[start:start + size], tail):
                    follow = ids[start + size:start + size + self.max_draft]
                    if follow.size:
                        return follow.astype(np.intc)
        return np.zeros(0, dtype=np.intc)


class DecodeStats:
    """Counters of the decoding loop (since the model was loaded)."""

    __slots__ = ("batches", "drafted", "eval_seconds", "evals", "prompt_next",
                 "prompt_seconds", "restored")

    def __init__(self) -> None:
        self.evals = 0
        self.batches = 0
        self.drafted = 0
        #: seconds in llama_decode: all of it, and the first evaluation of each completion
        self.eval_seconds = 0.0
        self.prompt_seconds = 0.0
        self.prompt_next = False
        #: prompt tokens loaded from the prefix store instead of evaluated
        self.restored = 0


def _install_eval(llm: Any, lookahead: int, stats: DecodeStats,
                  prefix_store: PrefixStore | None) -> None:
    """Evaluate with logits for the last ``lookahead + 1`` positions only; draft when
    ``lookahead`` > 0; start a fresh context from ``prefix_store`` when it can."""
    ctx, batch, n_batch = llm._ctx, llm._batch, int(llm.n_batch)
    outputs = lookahead + 1

    def restore(tokens: list[int]) -> list[int]:
        """A prompt on an empty context: load what the store has of it, then save it when
        much of it had to be evaluated."""
        assert prefix_store is not None
        shared, saved = prefix_store.restore(ctx, tokens[:-1])  # the last token: for logits
        if shared and saved is not None:
            llm.input_ids[:shared] = saved
            llm.n_tokens = shared
            stats.restored += shared
        return tokens[shared:]

    def eval_tokens(tokens: Any) -> None:
        started = time.perf_counter()
        tokens = list(tokens)
        # a long evaluation on an empty context is a prompt (from generate() or a caller's
        # own prefix-reusing feed)
        prompt = tokens if llm.n_tokens == 0 and len(tokens) > MIN_REUSE else None
        if prompt is not None and prefix_store is not None:
            tokens = restore(prompt)
        n = len(tokens)
        stats.evals += 1
        if 1 < n <= outputs and llm.n_tokens:
            stats.drafted += n - 1
        ctx.kv_cache_seq_rm(-1, llm.n_tokens, -1)
        for i in range(0, n, n_batch):
            chunk = tokens[i:i + n_batch]
            n_past = llm.n_tokens
            batch.set_batch(batch=chunk, n_past=n_past, logits_all=False)
            first = n - outputs - i  # logits from here on (set_batch marks only the last)
            for j in range(len(chunk)):
                batch.batch.logits[j] = j >= first
            ctx.decode(batch)
            stats.batches += 1
            llm.input_ids[n_past:n_past + len(chunk)] = chunk
            llm.n_tokens += len(chunk)
            llm._requires_eval = False
        if prompt is not None and prefix_store is not None and n >= MIN_REUSE:
            prefix_store.save(ctx, prompt)  # the KV cache holds exactly this prompt now
        seconds = time.perf_counter() - started
        stats.eval_seconds += seconds
        if stats.prompt_next:
            stats.prompt_seconds += seconds
            stats.prompt_next = False

    llm.eval = eval_tokens
    if lookahead > 0:
        llm.draft_model = PromptLookup(max_draft=lookahead)


def _supported(kw: dict[str, Any]) -> bool:
    neutral = (kw.get("repeat_penalty", 1.0) == 1.0 and kw.get("frequency_penalty", 0.0) == 0.0
               and kw.get("presence_penalty", 0.0) == 0.0)
    return (neutral and not kw.get("mirostat_mode") and kw.get("logits_processor") is None
            and kw.get("typical_p", 1.0) == 1.0 and float(kw.get("temp", 0.8)) >= 0.0)


def install(llm: Any, low: Any, *, lookahead: int = 0,
            prefix_store: PrefixStore | None = None) -> tuple[SamplerStats, DecodeStats]:
    """Make ``llm`` (a ``llama_cpp.Llama``) sample through :class:`LazyGrammarSampler`, with
    ``lookahead`` > 0 decode with prompt-lookup drafts of that many tokens, and with a
    ``prefix_store`` start a fresh context from a saved prompt prefix.

    Returns the counters. Raises AttributeError when the binding lacks what this relies on
    (the caller then keeps the stock sampler).
    """
    if llm.draft_model is not None or llm._logits_all:
        raise AttributeError("the model already has a draft model or logits_all")
    original = type(llm)._init_sampler
    model = llm._model
    vocab = low.llama_model_get_vocab(model.model)
    n_vocab = int(low.llama_vocab_n_tokens(vocab))
    grammars = _GrammarCache(low, vocab)
    stats = SamplerStats()
    decode = DecodeStats()

    def init_sampler(**kw: Any) -> Any:
        decode.prompt_next = True  # generate() builds its sampler, then evaluates the prompt
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
    _install_eval(llm, lookahead, decode, prefix_store)
    return stats, decode
