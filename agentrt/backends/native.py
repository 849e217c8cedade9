"""Backends stage: the model's own tool-call format — its chat template with ``tools`` and its
native ``<tool_call>`` replies — and a decoder for llama.cpp that constrains only the call.

A small model answers best in the format it was trained on. For a GGUF whose chat template
renders ``tools`` (Qwen2.5, Llama 3.x, Hermes-style templates), the prompt is the template's own
rendering of the conversation and the tools; the reply is either a call,
``<tool_call>\\n{"name": ..., "arguments": {...}}\\n</tool_call>``, or plain text — the final
answer, a decline, or a clarifying question. Declining costs one turn of text: no pseudo-tool.

Decoding (:class:`NativeDecoder`), two phases on one KV cache:

1. the first token is chosen freely (greedy or sampled): the model's own choice between calling
   (the ``<tool_call>`` token) and answering;
2. a call continues under a GBNF grammar accepting exactly ``{"name": <a tool>, "arguments":
   <its schema>}``; an answer continues unconstrained until end of turn.

The grammar is checked "top-k first": each step offers the grammar only the ``k`` most likely
tokens (and end-of-generation) and falls back to the whole vocabulary only when none of them is
allowed. llama-cpp-python's own sampler chain applies the grammar to all 152k tokens of the
vocabulary at every step, which costs more than the forward pass of a 0.5B model.

:func:`render_prompt` is also what the fine-tuning export uses, so training text and prompts are
the same string.
"""

from __future__ import annotations

import ctypes
import json
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agentrt.errors import BackendError
from agentrt.protocol import FINISH

__all__ = [
    "ChatTemplate",
    "DecodeResult",
    "NativeDecoder",
    "native_call_schema",
    "native_messages",
    "render_prompt",
]

CALL_OPEN = "<tool_call>"
CALL_CLOSE = "</tool_call>"


class ChatTemplate:
    """A model's Jinja chat template (``tokenizer.chat_template`` in a GGUF), rendered the way
    Hugging Face's ``apply_chat_template`` does (sandboxed, trimmed blocks)."""

    def __init__(self, source: str, *, bos_token: str = "", eos_token: str = "") -> None:
        try:
            import jinja2
            from jinja2.sandbox import ImmutableSandboxedEnvironment
        except ImportError as exc:  # jinja2 comes with llama-cpp-python and transformers
            raise BackendError("rendering a chat template needs jinja2") from exc
        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                            loader=jinja2.BaseLoader())

        def raise_exception(message: str) -> None:
            raise BackendError(f"chat template: {message}")

        env.globals["raise_exception"] = raise_exception
        env.filters["tojson"] = lambda v, **kw: json.dumps(v, ensure_ascii=False, **kw)
        try:
            self._template = env.from_string(source)
        except jinja2.TemplateError as exc:
            raise BackendError(f"chat template does not compile: {exc}") from exc
        self.source = source
        self.bos_token = bos_token
        self.eos_token = eos_token

    @property
    def supports_tools(self) -> bool:
        """True when the template renders a ``tools`` list (else use the JSON-step format)."""
        return "tools" in self.source and CALL_OPEN in self.source

    def render(self, messages: Sequence[Mapping[str, Any]], *,
               tools: Sequence[Mapping[str, Any]] | None = None,
               add_generation_prompt: bool = True) -> str:
        try:
            return str(self._template.render(
                messages=list(messages), tools=list(tools) if tools else None,
                add_generation_prompt=add_generation_prompt, bos_token=self.bos_token,
                eos_token=self.eos_token))
        except BackendError:
            raise
        except Exception as exc:  # a template error at render time (jinja2's many types)
            raise BackendError(f"chat template failed to render: {exc}") from exc


def native_messages(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """OpenAI-format messages as chat templates expect them: tool-call arguments as objects
    (templates apply ``tojson`` to them), ``None`` content as "", a ``finish`` call as the
    plain-text answer it stands for."""
    out: list[dict[str, Any]] = []
    for message in messages:
        msg = {k: v for k, v in message.items() if v is not None}
        msg["content"] = message.get("content") or ""
        calls = []
        for call in message.get("tool_calls") or ():
            fn = dict(call.get("function") or {})
            args = fn.get("arguments")
            if isinstance(args, str):
                try:
                    fn["arguments"] = json.loads(args)
                except ValueError:
                    fn["arguments"] = args
            if fn.get("name") == FINISH:
                answer = fn["arguments"].get("final_answer") if isinstance(
                    fn["arguments"], Mapping) else None
                msg["content"] = str(answer or msg["content"])
                continue
            calls.append({**call, "function": fn})
        if calls:
            msg["tool_calls"] = calls
        else:
            msg.pop("tool_calls", None)
        out.append(msg)
    return out


def _offered(tools: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The tools as the template shows them: ``finish`` is not one (an answer is plain text)."""
    return [t for t in tools if (t.get("function") or t).get("name") != FINISH]


def render_prompt(template: ChatTemplate, messages: Sequence[Mapping[str, Any]],
                  tools: Sequence[Mapping[str, Any]]) -> str:
    """The exact prompt text of one native-format step (the same string the export trains on)."""
    return template.render(native_messages(messages), tools=_offered(tools))


def native_call_schema(constraint: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The step constraint (``anyOf`` of ``{"thought", "name", "arguments"}`` branches, see
    ``Toolset.call_schema``) turned into the native call object ``{"name", "arguments"}``:
    no thought, no ``finish`` branch (answers are text). None when nothing is left."""
    if not constraint:
        return None
    branches = []
    for branch in constraint.get("anyOf") or [constraint]:
        props = dict(branch.get("properties") or {})
        name = props.get("name") or {}
        if name.get("const") == FINISH or FINISH in (name.get("enum") or ()):
            continue
        props.pop("thought", None)
        ordered = {"name": props.pop("name", {"type": "string"}), **props}
        branches.append({**branch, "properties": ordered,
                         "required": [r for r in branch.get("required", ()) if r != "thought"]})
    if not branches:
        return None
    out: dict[str, Any] = {"anyOf": branches}
    if "$defs" in constraint:
        out["$defs"] = constraint["$defs"]
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class DecodeResult:
    """One native-format reply: its text (tags included) and what it cost."""

    text: str
    is_call: bool
    prompt_tokens: int
    reused_tokens: int
    completion_tokens: int
    prompt_seconds: float
    generation_seconds: float
    finish_reason: str
    grammar_fallbacks: int = 0


class NativeDecoder:
    """Two-phase decoding of native-format replies on a ``llama_cpp.Llama`` (see the module
    docstring). Not thread-safe: the caller holds the model's lock."""

    def __init__(self, llm: Any, *, top_k: int = 40) -> None:
        import llama_cpp

        self._c = llama_cpp
        self.llm = llm
        self.top_k = top_k
        vocab = llm._model.vocab
        self._vocab = vocab
        self.n_vocab = int(llama_cpp.llama_vocab_n_tokens(vocab))
        self._eog = [t for t in (llm.token_eos(), *self._special_ids("<|im_end|>", "<|eot_id|>",
                                                                     "<|endoftext|>"))
                     if t is not None and t >= 0 and llama_cpp.llama_vocab_is_eog(vocab, t)]
        ids = self._special_ids(CALL_OPEN)
        self.call_token = ids[0] if ids else None
        self._grammars: dict[str, Any] = {}
        self._openers: dict[int, bool] = {}

    def _special_ids(self, *texts: str) -> list[int]:
        out = []
        for text in texts:
            toks = self.llm.tokenize(text.encode(), add_bos=False, special=True)
            if len(toks) == 1:
                out.append(int(toks[0]))
        return out

    def _starts_call(self, token: int) -> bool:
        """Whether a first token opens a call: the template's ``<tool_call>``, or the bare
        JSON / fenced JSON that small models often write instead of it."""
        if token == self.call_token:
            return True
        if token not in self._openers:
            piece = self.llm.detokenize([token], special=True).decode("utf-8", "replace")
            self._openers[token] = piece.lstrip().startswith(("{", "```", CALL_OPEN))
        return self._openers[token]

    def tokenize(self, text: str) -> list[int]:
        return [int(t) for t in self.llm.tokenize(text.encode(), add_bos=False, special=True)]

    # -- KV cache ---------------------------------------------------------------------------
    def _feed(self, tokens: Sequence[int]) -> int:
        """Make the context hold exactly ``tokens`` with fresh logits; returns reused count."""
        llm = self.llm
        have = list(llm.input_ids[: llm.n_tokens])
        prefix = 0
        for a, b in zip(have, tokens, strict=False):
            if a != b:
                break
            prefix += 1
        if prefix == len(tokens):  # nothing new: replay the last token for its logits
            prefix -= 1
        if prefix <= 0:
            llm.reset()
            prefix = 0
        llm.n_tokens = prefix
        llm.eval(list(tokens[prefix:]))
        return prefix

    def _logits(self) -> Any:
        import numpy as np

        ptr = self._c.llama_get_logits_ith(self.llm._ctx.ctx, -1)
        return np.ctypeslib.as_array(ptr, shape=(self.n_vocab,))

    # -- grammar -----------------------------------------------------------------------------
    def grammar(self, schema: Mapping[str, Any]) -> str:
        key = json.dumps(schema, sort_keys=True)
        if key not in self._grammars:
            from llama_cpp.llama_grammar import json_schema_to_gbnf

            try:
                self._grammars[key] = json_schema_to_gbnf(json.dumps(schema))
            except (ValueError, RuntimeError, KeyError, TypeError) as exc:
                raise BackendError(f"cannot turn the call schema into a grammar: {exc}") from exc
            if len(self._grammars) > 32:
                self._grammars.pop(next(iter(self._grammars)))
        return str(self._grammars[key])

    def _grammar_sampler(self, gbnf: str) -> Any:
        smpl = self._c.llama_sampler_init_grammar(self._vocab, gbnf.encode(), b"root")
        if not smpl:
            raise BackendError("llama.cpp rejected the call grammar")
        return smpl

    def _allowed(self, smpl: Any, ids: Sequence[int], logits: Any) -> list[tuple[int, float]]:
        """The (token, logit) pairs among ``ids`` that the grammar allows next."""
        c = self._c
        arr = (c.llama_token_data * len(ids))()
        for i, tok in enumerate(ids):
            arr[i].id = tok
            arr[i].logit = float(logits[tok])
            arr[i].p = 0.0
        data = c.llama_token_data_array(data=arr, size=len(ids), selected=-1, sorted=False)
        c.llama_sampler_apply(smpl, ctypes.byref(data))
        return [(arr[i].id, arr[i].logit) for i in range(data.size)
                if arr[i].logit != float("-inf")]

    # -- sampling ----------------------------------------------------------------------------
    @staticmethod
    def _pick(pairs: Sequence[tuple[int, float]], temperature: float, top_p: float,
              rng: random.Random) -> int:
        if temperature <= 0 or len(pairs) == 1:
            return max(pairs, key=lambda p: p[1])[0]
        import math

        ranked = sorted(pairs, key=lambda p: -p[1])
        top = ranked[0][1]
        weights = [math.exp((lg - top) / temperature) for _, lg in ranked]
        total = sum(weights)
        kept, acc = [], 0.0
        for (tok, _), w in zip(ranked, weights, strict=True):
            kept.append((tok, w))
            acc += w / total
            if acc >= top_p:
                break
        r = rng.random() * sum(w for _, w in kept)
        for tok, w in kept:
            r -= w
            if r <= 0:
                return tok
        return kept[-1][0]

    def _top(self, logits: Any, k: int) -> list[int]:
        import numpy as np

        k = min(k, self.n_vocab)
        idx = np.argpartition(-logits, k - 1)[:k]
        return [int(i) for i in idx]

    def decode(self, prompt: Sequence[int], *, call_schema: Mapping[str, Any] | None,
               temperature: float = 0.0, top_p: float = 0.95, seed: int = 0,
               max_tokens: int = 256) -> DecodeResult:
        """One reply to ``prompt`` (token ids of a rendered native-format prompt)."""
        rng = random.Random(seed)
        t0 = time.perf_counter()
        reused = self._feed(prompt)
        t1 = time.perf_counter()
        out: list[int] = []
        fallbacks = 0
        logits = self._logits()
        pairs = [(t, float(logits[t])) for t in self._top(logits, self.top_k)]
        if call_schema is None:  # nothing to call: the reply is an answer
            pairs = [p for p in pairs if not self._starts_call(p[0])] or pairs
        first = self._pick(pairs, temperature, top_p, rng)
        is_call = call_schema is not None and self._starts_call(first)
        finish = "length"
        smpl = None
        if is_call:
            assert call_schema is not None
            smpl = self._grammar_sampler(self.grammar(call_schema))
            # the call in the template's own form, whatever opening the model chose
            out = self.tokenize(f"{CALL_OPEN}\n")
            self.llm.eval(out)
        elif first in self._eog:
            finish = "stop"
        else:
            out = [first]
            self.llm.eval(out)
        try:
            while finish == "length" and len(out) < max_tokens:
                logits = self._logits()
                ids = self._top(logits, self.top_k)
                if smpl is not None:
                    pairs = self._allowed(smpl, [*ids, *(e for e in self._eog if e not in ids)],
                                          logits)
                    if not pairs:
                        fallbacks += 1
                        pairs = self._allowed(smpl, range(self.n_vocab), logits)
                    if not pairs:
                        finish = "grammar"
                        break
                else:
                    pairs = [(t, float(logits[t])) for t in ids]
                tok = self._pick(pairs, temperature, top_p, rng)
                if tok in self._eog or (smpl is None and tok == self.call_token and is_call):
                    finish = "stop"
                    break
                if smpl is not None:
                    self._c.llama_sampler_accept(smpl, tok)
                out.append(tok)
                self.llm.eval([tok])
        finally:
            if smpl is not None:
                self._c.llama_sampler_free(smpl)
        text = self.llm.detokenize(out, special=True).decode("utf-8", errors="replace")
        if is_call and finish == "stop":
            text = text.rstrip() + f"\n{CALL_CLOSE}"
        t2 = time.perf_counter()
        return DecodeResult(text=text, is_call=is_call, prompt_tokens=len(prompt),
                            reused_tokens=reused, completion_tokens=len(out),
                            prompt_seconds=t1 - t0, generation_seconds=t2 - t1,
                            finish_reason=finish, grammar_fallbacks=fallbacks)
