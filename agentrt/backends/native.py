"""Backends stage: the model's own tool-call format — its chat template with ``tools`` and its
native ``<tool_call>`` replies — and a decoder for llama.cpp that constrains only the call.

A small model answers best in the format it was trained on. For a GGUF whose chat template
renders ``tools`` (Qwen2.5, Llama 3.x, Hermes-style templates), the prompt is the template's own
rendering of the conversation and the tools; the reply is either a call,
``<tool_call>\\n{"name": ..., "arguments": {...}}\\n</tool_call>``, or plain text — the final
answer, a decline, or a clarifying question. Declining costs one turn of text: no pseudo-tool.

Call styles. ``tagged`` (the default) is the template's own form above. ``bare`` writes a call
as the JSON object alone, ``{"name": ..., "arguments": {...}}``, in the reply and in the
conversation's earlier turns: what Qwen2.5-Coder-0.5B writes by itself. Its output row for the
``<tool_call>`` token is barely trained, and a LoRA adapter cannot move it (``lm_head`` is tied
to the embeddings and stays frozen), so an adapter trained on tagged calls learns *when* to
call but still loses the first token to text. In the bare style a call opens with ``{``, an
ordinary token whose logit the adapter does move. ``agentrt finetune --call-style bare``
records the style in the adapter's ``training.json``, where the embedded backend reads it.

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

import json
import math
import random
from collections.abc import Mapping, Sequence
from typing import Any

from agentrt.errors import BackendError
from agentrt.protocol import FINISH

__all__ = [
    "CALL_CLOSE",
    "CALL_OPEN",
    "CALL_STYLES",
    "ChatTemplate",
    "NativeFormat",
    "bare_call",
    "common_prefix",
    "native_call_schema",
    "native_messages",
    "render_prompt",
]

#: how a call is written: the template's ``<tool_call>`` form, or the JSON object alone
CALL_STYLES = ("tagged", "bare")

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


def bare_call(name: str, arguments: Any) -> str:
    """One call in the bare style: ``{"name": …, "arguments": …}`` (the training target's text)."""
    return json.dumps({"name": name, "arguments": arguments}, ensure_ascii=False)


def native_messages(messages: Sequence[Mapping[str, Any]], *, bare_calls: bool = False
                    ) -> list[dict[str, Any]]:
    """OpenAI-format messages as chat templates expect them: tool-call arguments as objects
    (templates apply ``tojson`` to them), ``None`` content as "", a ``finish`` call as the
    plain-text answer it stands for. With ``bare_calls`` an assistant turn's calls become its
    text, one :func:`bare_call` a line (any thought before them dropped, as in the reply)."""
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
        if calls and bare_calls:
            msg.pop("tool_calls", None)
            msg["content"] = "\n".join(bare_call(c["function"].get("name", ""),
                                                 c["function"].get("arguments"))
                                       for c in calls)
        elif calls:
            msg["tool_calls"] = calls
        else:
            msg.pop("tool_calls", None)
        out.append(msg)
    return out


def _offered(tools: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The tools as the template shows them: ``finish`` is not one (an answer is plain text)."""
    return [t for t in tools if (t.get("function") or t).get("name") != FINISH]


def render_prompt(template: ChatTemplate, messages: Sequence[Mapping[str, Any]],
                  tools: Sequence[Mapping[str, Any]], *, bare_calls: bool = False) -> str:
    """The exact prompt text of one native-format step (the same string the export trains on);
    ``bare_calls``: earlier calls in the bare style (module docstring)."""
    return template.render(native_messages(messages, bare_calls=bare_calls),
                           tools=_offered(tools))


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


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """How many leading tokens ``a`` and ``b`` share (what llama.cpp's KV cache can reuse)."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


class NativeFormat:
    """The native format on one ``llama_cpp.Llama``: its chat template, the prompt as tokens,
    and the model's own first move — a call or an answer (see the module docstring). The rest
    of a reply is generated by the backend (``create_completion``, through its sampler).
    Not thread-safe: the caller holds the model's lock."""

    def __init__(self, llm: Any, template: ChatTemplate, *, top_k: int = 40,
                 call_bias: float = 0.0, call_style: str = "tagged") -> None:
        import llama_cpp

        self._c = llama_cpp
        self.llm = llm
        self.template = template
        self.top_k = top_k
        #: added to the ``<tool_call>`` logit at the first move. A small model's output row for
        #: a rarely used special token is barely trained, and a LoRA adapter cannot move it
        #: (lm_head is tied to the embeddings and not adapted): the adapter learns *when* to
        #: call, but the token's logit stays several nats below the top. The bias is measured
        #: on the adapter's own training records (``agentrt.training.calibrate``).
        self.call_bias = float(call_bias)
        if call_style not in CALL_STYLES:
            raise BackendError(f"unknown call style {call_style!r}: one of {', '.join(CALL_STYLES)}")
        #: calls written as bare JSON (prompt and reply): a call is then generated from its
        #: first ``{`` under the grammar, with no ``<tool_call>`` put before it
        self.bare_calls = call_style == "bare"
        vocab = llm._model.vocab
        self.n_vocab = int(llama_cpp.llama_vocab_n_tokens(vocab))
        ends = [*self._special_ids("<|im_end|>", "<|eot_id|>", "<|endoftext|>", "<|end|>"),
                int(llm.token_eos())]
        self.eog = frozenset(t for t in ends if t >= 0 and llama_cpp.llama_vocab_is_eog(vocab, t))
        ids = self._special_ids(CALL_OPEN)
        self.call_token = ids[0] if ids else None
        self.call_open = self.tokenize(f"{CALL_OPEN}\n")
        self._openers: dict[int, bool] = {}

    @classmethod
    def for_model(cls, llm: Any, *, call_bias: float = 0.0, call_style: str = "tagged"
                  ) -> NativeFormat | None:
        """The native format of ``llm``'s GGUF, or None when its template renders no tools."""
        source = (getattr(llm, "metadata", None) or {}).get("tokenizer.chat_template")
        if not source:
            return None
        template = ChatTemplate(source)
        if not template.supports_tools:
            return None
        return cls(llm, template, call_bias=call_bias, call_style=call_style)

    def _special_ids(self, *texts: str) -> list[int]:
        out = []
        for text in texts:
            toks = self.llm.tokenize(text.encode(), add_bos=False, special=True)
            if len(toks) == 1:
                out.append(int(toks[0]))
        return out

    def tokenize(self, text: str) -> list[int]:
        return [int(t) for t in self.llm.tokenize(text.encode(), add_bos=False, special=True)]

    def detokenize(self, tokens: Sequence[int]) -> str:
        return str(self.llm.detokenize(list(tokens), special=True).decode("utf-8", "replace"))

    def prompt(self, messages: Sequence[Mapping[str, Any]],
               tools: Sequence[Mapping[str, Any]]) -> list[int]:
        """The rendered prompt as token ids (what the export's training text tokenizes to)."""
        return self.tokenize(render_prompt(self.template, messages, tools,
                                           bare_calls=self.bare_calls))

    def starts_call(self, token: int) -> bool:
        """Whether a first token opens a call: the template's ``<tool_call>``, or the bare
        JSON / fenced JSON that small models often write instead of it."""
        if token == self.call_token:
            return True
        if token not in self._openers:
            piece = self.detokenize([token])
            self._openers[token] = piece.lstrip().startswith(("{", "```", CALL_OPEN))
        return self._openers[token]

    def _starts_prose(self, token: int) -> bool:
        piece = self.detokenize([token]).lstrip()
        return bool(piece) and (piece[0].isalnum() or piece[0] in "\"'(")

    # -- the first move ----------------------------------------------------------------------
    def feed(self, tokens: Sequence[int]) -> int:
        """Make the context hold ``tokens`` with fresh logits for the next one, reusing the
        longest cached prefix; returns how many prompt tokens were reused."""
        llm = self.llm
        prefix = min(common_prefix(list(llm.input_ids[: llm.n_tokens]), tokens), len(tokens) - 1)  # at least one token evaluated: fresh logits
        if prefix <= 0 or not llm._ctx.kv_cache_seq_rm(-1, prefix, -1):
            llm.reset()
            prefix = 0
        llm.n_tokens = prefix
        llm.eval(list(tokens[prefix:]))
        return prefix

    def _logits(self) -> Any:
        import numpy as np

        ptr = self._c.llama_get_logits_ith(self.llm._ctx.ctx, -1)
        return np.ctypeslib.as_array(ptr, shape=(self.n_vocab,))

    def call_gap(self) -> float:
        """After :meth:`feed`: the ``<tool_call>`` logit minus the best other logit (no bias):
        what calibration measures."""
        import numpy as np

        if self.call_token is None:
            raise BackendError("this template has no single <tool_call> token")
        logits = np.array(self._logits(), dtype=np.float64)
        call = float(logits[self.call_token])
        logits[self.call_token] = -np.inf
        return call - float(logits.max())

    def choose(self, *, temperature: float, top_p: float, seed: int, can_call: bool,
               must_call: bool = False) -> tuple[int, bool]:
        """The first token of the reply (after :meth:`feed`) and whether it opens a call. With
        nothing to call (``can_call`` False) the best non-call token is taken: an answer;
        ``must_call`` (with ``can_call``): the best token that opens a call, else the call's
        own opening token — a call."""
        import numpy as np

        logits = self._logits()
        if can_call and must_call:
            k = min(self.top_k, self.n_vocab)
            ids = [int(i) for i in np.argpartition(-logits, k - 1)[:k]]
            pairs = [(t, float(logits[t])) for t in ids if self.starts_call(t)]
            if pairs:
                return _pick(pairs, temperature, top_p, random.Random(seed)), True
            opener = self.tokenize("{")[0] if self.bare_calls or self.call_token is None \
                else self.call_token
            return opener, True
        if can_call and self.call_bias and self.call_token is not None:
            logits = logits.copy()
            logits[self.call_token] += self.call_bias
        k = min(self.top_k, self.n_vocab)
        ids = [int(i) for i in np.argpartition(-logits, k - 1)[:k]]
        pairs = [(t, float(logits[t])) for t in ids]
        if not can_call:  # an answer in words: not a call, nor JSON or a tag leading into one
            pairs = ([p for p in pairs if self._starts_prose(p[0])]
                     or [p for p in pairs if not self.starts_call(p[0])] or pairs)
        first = _pick(pairs, temperature, top_p, random.Random(seed))
        return first, can_call and self.starts_call(first)


def _pick(pairs: Sequence[tuple[int, float]], temperature: float, top_p: float,
          rng: random.Random) -> int:
    """Greedy (``temperature`` 0), else a draw from the top-p share at ``temperature``."""
    if temperature <= 0 or len(pairs) == 1:
        return max(pairs, key=lambda p: p[1])[0]
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
