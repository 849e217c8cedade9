"""Backends stage: the embedded default — llama.cpp on the CPU (``agentrt[embedded]``).

One ``llama_cpp.Llama`` per backend, loaded on first use from a verified GGUF (see
:mod:`agentrt.backends.model_files`). Each candidate is one chat completion decoded under a
GBNF grammar built from the step constraint (``LlamaGrammar.from_json_schema``), so the model
can only write a step object for a real tool. llama.cpp has no ``n``: k candidates are k
completions with distinct seeds. The model is not thread-safe, so calls are serialised by an
``asyncio.Lock`` and run in a worker thread. llama.cpp keeps the KV cache of the previous call
and re-evaluates only the tokens after the longest common prefix; the tools and instructions
come first in the prompt, so siblings and children in a search mostly hit that prefix. How many
prompt tokens were reused is measured per call (``Candidate.meta``) and in :attr:`stats`.

Running llama.cpp safely and fast (the parts live in their own modules):

* load parameters for the CPU and a one-time probe in a child process, so a CPU feature the
  machine advertises but cannot execute (AMX in some VMs: SIGILL) becomes a typed
  :class:`~agentrt.backends.llama_runtime.LlamaCrashError` instead of a dead interpreter
  (:mod:`agentrt.backends.llama_runtime`; ``AGENTRT_PROBE``, ``AGENTRT_EXTRA_BUFTS``);
* the thread count chosen again before every step from the CPU other processes leave free
  (:mod:`agentrt.backends.llama_threads`; ``AGENTRT_THREADS`` fixes it);
* the grammar checked against the sampled token only, and applied to the whole vocabulary
  only when that token is illegal; prompt-lookup drafts verified in one batch
  (:mod:`agentrt.backends.llama_sampling`);
* the first prompt's KV state saved on disk, so the next process skips evaluating the system
  turn again (:mod:`agentrt.backends.llama_prefix`; ``AGENTRT_KV_CACHE=0`` turns it off).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentrt._log import get_logger
from agentrt.backends import llama_runtime, llama_sampling
from agentrt.backends.adapters import adapter_call_bias, adapter_call_style
from agentrt.backends.base import Candidate, Capabilities, Message, Sampling
from agentrt.backends.llama_prefix import PrefixStore
from agentrt.backends.llama_threads import ThreadPolicy
from agentrt.backends.model_files import Progress, cache_dir, model_identity, resolve_model_path
from agentrt.backends.native import CALL_STYLES, common_prefix
from agentrt.backends.parsing import parse_text
from agentrt.backends.prompting import bound_thought, step_messages
from agentrt.errors import BackendError, ConfigError
from agentrt.protocol import CALL_ONLY

__all__ = ["EmbeddedBackend", "EmbeddedStats"]

log = get_logger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class EmbeddedStats:
    """Totals since the model was loaded."""

    completions: int = 0
    prompt_tokens: int = 0
    reused_prompt_tokens: int = 0
    evaluated_prompt_tokens: int = 0
    completion_tokens: int = 0
    prompt_seconds: float = 0.0
    generation_seconds: float = 0.0
    wall_seconds: float = 0.0
    load_seconds: float = 0.0

    @property
    def reuse_ratio(self) -> float:
        """Share of prompt tokens taken from the KV cache instead of being evaluated."""
        return self.reused_prompt_tokens / self.prompt_tokens if self.prompt_tokens else 0.0

    @property
    def prompt_tokens_per_s(self) -> float:
        """Prompt evaluation speed (evaluated tokens only)."""
        return self.evaluated_prompt_tokens / self.prompt_seconds if self.prompt_seconds else 0.0

    @property
    def generation_tokens_per_s(self) -> float:
        """Generation speed."""
        gen = self.generation_seconds
        return self.completion_tokens / gen if gen else 0.0


def _import_llama_cpp() -> Any:
    try:
        import llama_cpp
    except ImportError as exc:
        raise ConfigError("the embedded backend needs llama-cpp-python: "
                          "pip install 'agentrt[embedded]'") from exc
    return llama_cpp


class EmbeddedBackend:
    """A GGUF model run in-process by llama-cpp-python.

    ``model_path``: a GGUF file; None means ``AGENTRT_MODEL`` or the default model.
    ``n_threads``: a fixed thread count (default ``AGENTRT_THREADS``, else chosen before each
    step from the cores other processes leave free, see :mod:`~agentrt.backends.llama_threads`).
    ``thought_max_chars`` bounds the thought in the grammar (see ``bound_thought``); ``llama``
    injects a ready ``Llama`` (its settings are then the caller's, and it is not probed).
    ``probe_command`` replaces the probe child's program (tests); ``lazy_grammar`` False keeps
    llama-cpp-python's own sampler (the grammar over the whole vocabulary at every token) and
    decoding; ``lookahead`` is the length of prompt-lookup drafts (0: none), see
    :mod:`~agentrt.backends.llama_sampling`.
    ``tool_format``: ``"native"`` (the default where the GGUF's chat template renders tools:
    the model's own ``<tool_call>`` replies and plain-text answers, see
    :mod:`~agentrt.backends.native`), ``"json"`` (the JSON-step format with the ``finish``
    pseudo-tool, for any template), ``"auto"`` (native when the template has tools);
    ``AGENTRT_TOOL_FORMAT`` sets the default.
    ``lora_path``: a llama.cpp LoRA adapter (GGUF, e.g. ``agentrt finetune``'s
    ``adapter.gguf``) applied to the model; saved KV states are kept apart per adapter.
    ``call_bias`` and ``call_style`` (native format, see :mod:`~agentrt.backends.native`):
    None takes what the adapter's ``training.json`` says, else 0 and ``tagged``.
    """

    def __init__(self, model_path: str | os.PathLike[str] | None = None, *, n_ctx: int = 6144,
                 n_threads: int | None = None, n_batch: int = 512,
                 thought_max_chars: int | None = 120, llama: Any = None,
                 progress: Progress | None = None,
                 llama_kwargs: dict[str, Any] | None = None,
                 probe_command: Sequence[str] | None = None,
                 lazy_grammar: bool = True, lookahead: int = 4,
                 tool_format: str | None = None,
                 lora_path: str | os.PathLike[str] | None = None,
                 call_bias: float | None = None, call_style: str | None = None) -> None:
        self._model_path = Path(model_path) if model_path is not None else None
        self.lora_path = Path(lora_path).expanduser() if lora_path is not None else None
        if self.lora_path is not None and not self.lora_path.is_file():
            raise ConfigError(f"LoRA adapter not found: {self.lora_path}")
        self.name = f"embedded:{model_path}" if model_path is not None else "embedded"
        if self.lora_path is not None:
            self.name += f"@lora={self.lora_path}"
        #: the native format's ``<tool_call>`` bias (see NativeFormat); None: the adapter's
        #: calibrated value from the training.json beside it, else 0
        self.call_bias = call_bias if call_bias is not None else adapter_call_bias(self.lora_path)
        self.call_style = call_style or adapter_call_style(self.lora_path)
        if self.call_style not in CALL_STYLES:
            raise ConfigError(f"call_style must be one of {', '.join(CALL_STYLES)}, "
                              f"not {self.call_style!r}")
        fmt = (tool_format or os.environ.get("AGENTRT_TOOL_FORMAT") or "auto").lower()
        if fmt not in ("auto", "native", "json"):
            raise ConfigError(f"tool_format must be auto, native or json, not {fmt!r}")
        self.tool_format = fmt
        self.capabilities = Capabilities(native_n=False, grammar=True,
                                         tool_call_format="json" if fmt == "json" else "native")
        self._native: Any = None  # NativeFormat once loaded; False: the template has no tools
        self.threads = ThreadPolicy.from_env(n_threads)
        threads = self.threads.current
        self._settings = {"n_ctx": n_ctx, "n_threads": threads, "n_threads_batch": threads,
                          "n_batch": n_batch, "verbose": False, **(llama_kwargs or {})}
        self.thought_max_chars = thought_max_chars
        self._probe_command = probe_command
        self._lazy_grammar = lazy_grammar
        self._lookahead = max(0, lookahead)
        self._sampler_stats: llama_sampling.SamplerStats | None = None
        self._decode_stats: llama_sampling.DecodeStats | None = None
        #: how the model was loaded (None until it is; an injected ``llama`` has none)
        self.load_params: llama_runtime.LoadParams | None = None
        self._llama = llama
        self._progress = progress
        self._lock = asyncio.Lock()
        # The asyncio lock alone is not enough: a cancelled ``propose`` (a run's wall-time
        # budget) releases it while its worker thread is still inside llama.cpp, and a second
        # thread in the same context corrupts it (GGML_ASSERT, the process aborts). Every use
        # of the model in a worker thread therefore also holds this lock.
        self._model_lock = threading.Lock()
        self._grammars: OrderedDict[str, Any] = OrderedDict()
        self._totals: dict[str, float] = dict.fromkeys(EmbeddedStats.__slots__, 0)

    @property
    def stats(self) -> EmbeddedStats:
        """Token and time totals, and the KV prefix reuse, since the model was loaded."""
        t = self._totals
        return EmbeddedStats(**{k: (float(v) if k.endswith("seconds") else int(v))
                                for k, v in t.items()})  # type: ignore[arg-type]

    # -- model ----------------------------------------------------------------------------
    def _load_sync(self) -> Any:
        with self._model_lock:
            return self._load_locked()

    def _load_locked(self) -> Any:
        if self._llama is None:
            llama_cpp = _import_llama_cpp()
            path = resolve_model_path(self._model_path, progress=self._progress)
            started = time.perf_counter()
            params = llama_runtime.choose_load_params()
            # a child process runs the model first (once; the verdict is cached), so that a
            # llama.cpp that dies on this CPU raises here instead of killing the interpreter
            params = llama_runtime.ensure_runnable(path, self._settings, params,
                                                   command=self._probe_command)
            probed = time.perf_counter()
            self.threads.restart()  # the probe child's CPU time is not a neighbour's
            try:
                adapter = {"lora_path": str(self.lora_path)} if self.lora_path else {}
                llm = llama_runtime.create_llama(llama_cpp, str(path),
                                                 use_extra_bufts=params.use_extra_bufts,
                                                 **self._settings, **adapter)
            except (ValueError, RuntimeError, OSError) as exc:
                raise BackendError(f"llama.cpp could not load {path}: {exc}",
                                   backend=self.name) from exc
            self.load_params = params
            if self._lazy_grammar:
                try:
                    store = (PrefixStore(cache_dir() / "kv", llama_cpp.llama_cpp,
                                         self._kv_key(path, params))
                             if PrefixStore.enabled() else None)
                    self._sampler_stats, self._decode_stats = llama_sampling.install(
                        llm, llama_cpp.llama_cpp, lookahead=self._lookahead,
                        prefix_store=store)
                except AttributeError as exc:  # another binding version: its own sampler
                    log.warning("embedded.lazy_grammar_unavailable", error=str(exc))
            self._llama = llm
            self._totals["load_seconds"] = time.perf_counter() - started
            log.info("embedded.loaded", path=str(path), seconds=self._totals["load_seconds"],
                     probe_seconds=round(probed - started, 3), n_ctx=self._settings["n_ctx"],
                     n_threads=self._settings["n_threads"],
                     use_extra_bufts=params.use_extra_bufts, reason=params.reason)
        return self._llama

    def _kv_key(self, path: Path, params: llama_runtime.LoadParams) -> dict[str, Any]:
        """What saved KV values depend on: the model, the llama.cpp build, the settings."""
        settings = {k: v for k, v in self._settings.items()
                    if k in ("n_ctx", "type_k", "type_v", "flash_attn", "rope_freq_base")}
        key = {"model": model_identity(path), "llama_cpp": llama_runtime.llama_cpp_build(),
               "settings": settings, "use_extra_bufts": params.use_extra_bufts}
        if self.lora_path is not None:  # an adapter changes every key and value
            key["lora"] = model_identity(self.lora_path)
        return key

    def _set_threads(self, llm: Any) -> int:
        """Apply the thread policy's choice for the next step (llama.cpp takes it per call)."""
        if self.load_params is None:  # an injected model: its settings are the caller's
            return int(self._settings["n_threads"])
        threads = self.threads.choose()
        if threads != self._settings["n_threads"]:
            _import_llama_cpp().llama_set_n_threads(llm._ctx.ctx, threads, threads)
            self._settings["n_threads"] = self._settings["n_threads_batch"] = threads
            log.debug("embedded.threads", n_threads=threads, others=self.threads.others)
        return threads

    async def load(self) -> None:
        """Assemble/verify the model file if needed and load it (otherwise done on first use)."""
        async with self._lock:
            await asyncio.to_thread(self._load_sync)

    def _grammar(self, constraint: dict[str, Any] | None) -> Any:
        """The GBNF grammar for a constraint; compiled grammars are kept (LRU of 16)."""
        llama_cpp = _import_llama_cpp()
        key = json.dumps(constraint, sort_keys=True) if constraint is not None else ""
        if key in self._grammars:
            self._grammars.move_to_end(key)
            return self._grammars[key]
        try:
            # the schema as given: llama.cpp keeps property order, and "thought" comes first
            grammar = (llama_cpp.LlamaGrammar.from_json_schema(json.dumps(constraint),
                                                               verbose=False) if key
                       else llama_cpp.LlamaGrammar.from_string(llama_cpp.llama_grammar.JSON_GBNF,
                                                               verbose=False))
        except (ValueError, RuntimeError, KeyError, TypeError) as exc:
            raise BackendError(f"cannot turn the step schema into a grammar: {exc}",
                               backend=self.name) from exc
        self._grammars[key] = grammar
        if len(self._grammars) > 16:
            self._grammars.popitem(last=False)
        return grammar

    # -- generation -----------------------------------------------------------------------
    def _perf(self, llm: Any, *, reset: bool = False) -> tuple[float, float, int, int]:
        llama_cpp = _import_llama_cpp()
        try:
            ctx = llm._ctx.ctx
            if reset:
                llama_cpp.llama_perf_context_reset(ctx)
                return (0.0, 0.0, 0, 0)
            data = llama_cpp.llama_perf_context(ctx)
            return (data.t_p_eval_ms / 1000, data.t_eval_ms / 1000, data.n_p_eval, data.n_eval)
        except (AttributeError, TypeError):  # an injected fake, or an older binding
            return (0.0, 0.0, 0, 0)

    def _account(self, prompt_tokens: int, reused: int, completion_tokens: int,
                 prompt_seconds: float, generation_seconds: float, wall: float) -> None:
        """Add one completion to the totals behind :attr:`stats`."""
        t = self._totals
        t["completions"] += 1
        t["prompt_tokens"] += prompt_tokens
        t["reused_prompt_tokens"] += reused
        t["evaluated_prompt_tokens"] += prompt_tokens - reused
        t["completion_tokens"] += completion_tokens
        t["prompt_seconds"] += prompt_seconds
        t["generation_seconds"] += generation_seconds
        t["wall_seconds"] += wall

    def _complete_sync(self, messages: list[Message], grammar: Any, sampling: Sampling,
                       seed: int) -> tuple[str, dict[str, Any]]:
        with self._model_lock:
            return self._complete_locked(messages, grammar, sampling, seed)

    def _complete_locked(self, messages: list[Message], grammar: Any, sampling: Sampling,
                         seed: int) -> tuple[str, dict[str, Any]]:
        llm = self._load_locked()
        threads = self._set_threads(llm)
        before = list(llm.input_ids[: llm.n_tokens]) if hasattr(llm, "input_ids") else []
        fallbacks = self._sampler_stats.fallbacks if self._sampler_stats else 0
        decode = self._decode_stats
        d0 = ((decode.evals, decode.drafted, decode.prompt_seconds, decode.eval_seconds,
               decode.restored) if decode else (0, 0, 0.0, 0.0, 0))
        self._perf(llm, reset=True)
        started = time.perf_counter()
        try:
            reply = llm.create_chat_completion(
                messages=messages, grammar=grammar, seed=seed,
                temperature=sampling.temperature, top_p=sampling.top_p,
                max_tokens=sampling.max_tokens)
        except ValueError as exc:  # e.g. the prompt does not fit the context window
            raise BackendError(f"llama.cpp: {exc}", backend=self.name) from exc
        wall = time.perf_counter() - started
        usage = reply.get("usage") or {}
        prompt_tokens = int(usage.get("prompt_tokens") or 0)
        completion_tokens = int(usage.get("completion_tokens") or 0)
        prompt = list(llm.input_ids[:prompt_tokens]) if hasattr(llm, "input_ids") else []
        reused = common_prefix(before, prompt)
        if reused == prompt_tokens and reused:  # llama.cpp replays the last prompt token
            reused -= 1
        restored = decode.restored - d0[4] if decode else 0
        reused = max(reused, restored)  # a fresh context started from the prefix store
        p_s, g_s, _n_p, _n_g = self._perf(llm)
        if decode is not None:  # llama.cpp's perf counts draft batches as prompt evaluation
            p_s = decode.prompt_seconds - d0[2]
            g_s = decode.eval_seconds - d0[3] - p_s
        self.threads.record(threads, completion_tokens, g_s)
        choice = (reply.get("choices") or [{}])[0]
        meta = {"backend": self.name, "seed": seed, "finish_reason": choice.get("finish_reason"),
                "prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                "reused_prompt_tokens": reused, "seconds": round(wall, 4),
                "prompt_seconds": round(p_s, 4), "generation_seconds": round(g_s, 4),
                "threads": threads}
        if self._sampler_stats is not None:
            meta["grammar_fallbacks"] = self._sampler_stats.fallbacks - fallbacks
        if decode is not None and self._lookahead:
            # one evaluation for the prompt, then one per batch (a token and its draft)
            meta["decode_batches"] = max(0, decode.evals - d0[0] - 1)
            meta["drafted_tokens"] = decode.drafted - d0[1]
        if restored:
            meta["kv_cache_tokens"] = restored
        self._account(prompt_tokens, reused, completion_tokens, p_s, g_s, wall)
        content = (choice.get("message") or {}).get("content") or ""
        return content, meta

    # -- the native format ----------------------------------------------------------------
    def _native_format(self, llm: Any) -> Any:
        """The model's native format, or None (JSON steps): decided once per loaded model."""
        if self.tool_format == "json":
            return None
        if self._native is None:
            from agentrt.backends.native import NativeFormat

            try:
                self._native = NativeFormat.for_model(llm, call_bias=self.call_bias,
                                                      call_style=self.call_style) or False
            except (BackendError, AttributeError, TypeError) as exc:  # e.g. an injected fake
                log.warning("embedded.native_unavailable", error=str(exc))
                self._native = False
            if self._native is False:
                if self.tool_format == "native":
                    raise BackendError("this model's chat template renders no tools: use "
                                       "tool_format='json'", backend=self.name)
                log.warning("embedded.native_fallback",
                            reason="the chat template renders no tools; JSON steps instead")
        return self._native or None

    def _native_sync(self, messages: Sequence[Message], tools: Sequence[dict[str, Any]],
                     constraint: dict[str, Any] | None, sampling: Sampling, seed: int
                     ) -> Candidate | None:
        with self._model_lock:
            llm = self._load_locked()
            fmt = self._native_format(llm)
            if fmt is None:
                return None
            return self._native_locked(llm, fmt, messages, tools, constraint, sampling, seed)

    def _native_locked(self, llm: Any, fmt: Any, messages: Sequence[Message],
                       tools: Sequence[dict[str, Any]], constraint: dict[str, Any] | None,
                       sampling: Sampling, seed: int) -> Candidate:
        """One native-format reply: the model's first move (call or answer), then the rest
        of it — a call under the grammar of ``{"name", "arguments"}``, an answer free."""
        from agentrt.backends.native import native_call_schema
        from agentrt.backends.native_decode import finish_reply, to_candidate

        threads = self._set_threads(llm)
        decode = self._decode_stats
        d0 = (decode.evals, decode.drafted, decode.restored) if decode else (0, 0, 0)
        started = time.perf_counter()
        prompt = fmt.prompt(messages, tools)
        if len(prompt) >= self._settings["n_ctx"] - 8:
            raise BackendError(f"the prompt ({len(prompt)} tokens) does not fit the context "
                               f"window ({self._settings['n_ctx']})", backend=self.name)
        schema = native_call_schema(constraint)
        reused = fmt.feed(prompt)
        fed = time.perf_counter()
        first, is_call = fmt.choose(temperature=sampling.temperature, top_p=sampling.top_p,
                                    seed=seed, can_call=schema is not None,
                                    must_call=bool(constraint and constraint.get(CALL_ONLY)))
        budget = max(1, min(sampling.max_tokens, self._settings["n_ctx"] - len(prompt) - 8))
        reply = finish_reply(llm, fmt, prompt, first, is_call,
                             self._grammar(schema) if is_call else None,
                             sampling=sampling, seed=seed, budget=budget)
        finish, completion_tokens = reply.finish, reply.completion_tokens
        wall = time.perf_counter() - started
        gen = time.perf_counter() - fed
        self.threads.record(threads, completion_tokens, gen)
        meta = {"backend": self.name, "format": "native", "seed": seed, "finish_reason": finish,
                "prompt_tokens": len(prompt), "completion_tokens": completion_tokens,
                "reused_prompt_tokens": reused, "seconds": round(wall, 4),
                "prompt_seconds": round(fed - started, 4), "generation_seconds": round(gen, 4),
                "threads": threads}
        if decode is not None:
            reused = max(reused, decode.restored - d0[2])  # started from the prefix store
            meta["reused_prompt_tokens"] = reused
            if decode.restored - d0[2]:
                meta["kv_cache_tokens"] = decode.restored - d0[2]
            if self._lookahead:  # one evaluation for the prompt, then one per batch
                meta["decode_batches"] = max(0, decode.evals - d0[0] - 1)
                meta["drafted_tokens"] = decode.drafted - d0[1]
        self._account(len(prompt), reused, completion_tokens, fed - started, gen, wall)
        return to_candidate(reply, fmt, tools, meta, budget)

    async def propose(self, messages: Sequence[Message], *, tools: Sequence[dict[str, Any]],
                      n: int = 1, sampling: Sampling | None = None,
                      constraint: dict[str, Any] | None = None) -> list[Candidate]:
        """``n`` candidates, one completion each, with seeds ``seed + i``: in the model's own
        format (``tool_format``) or as grammar-constrained JSON steps."""
        n = max(1, n)
        sampling = sampling or Sampling()
        seed = sampling.seed if sampling.seed is not None else random.randrange(2**31)
        if self.tool_format != "json" and self._native is not False:
            native: list[Candidate] = []
            async with self._lock:
                for i in range(n):
                    cand = await asyncio.to_thread(self._native_sync, messages, tools,
                                                   constraint, sampling, seed + i)
                    if cand is None:  # the template renders no tools: JSON steps below
                        break
                    native.append(cand)
            if native:
                return native
        prompt = step_messages(messages, tools)
        candidates = []
        async with self._lock:
            grammar = await asyncio.to_thread(
                self._grammar, bound_thought(constraint, self.thought_max_chars))
            for i in range(n):
                text, meta = await asyncio.to_thread(self._complete_sync, prompt, grammar,
                                                     sampling, seed + i)
                cand = parse_text(text, tools=tools, meta=meta)
                if cand.kind == "unparseable" and meta["finish_reason"] == "length":
                    cand = Candidate(kind="unparseable", thought=cand.thought, raw=cand.raw,
                                     meta=meta, error=f"{cand.error} (cut off at max_tokens "
                                                      f"{sampling.max_tokens})")
                candidates.append(cand)
        return candidates

    async def aclose(self) -> None:
        """Free the model (llama.cpp releases its memory when the object is closed)."""
        async with self._lock:
            llm, self._llama = self._llama, None
            close = getattr(llm, "close", None)
            grammars = getattr(llm, "_agentrt_grammars", None)
            if callable(close):
                def _close() -> None:
                    with self._model_lock:
                        if grammars is not None:  # they point into the model's vocabulary
                            grammars.close()
                        close()

                await asyncio.to_thread(_close)
