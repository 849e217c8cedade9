"""Backends stage: the rest of a native-format reply on llama.cpp, after the model's first move
(:meth:`~agentrt.backends.native.NativeFormat.choose`) — a call under the grammar of
``{"name", "arguments"}`` (after ``<tool_call>``, or from its first ``{`` in the bare style),
an answer free — and the reply turned into a :class:`~agentrt.backends.base.Candidate`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agentrt.backends.base import Candidate, Sampling
from agentrt.backends.native import CALL_CLOSE, CALL_OPEN, NativeFormat
from agentrt.backends.parsing import parse_text
from agentrt.backends.runaway import RunawayStop

__all__ = ["NativeReply", "finish_reply", "to_candidate"]


@dataclass(frozen=True, slots=True, kw_only=True)
class NativeReply:
    """A generated reply: whether it is a call, the tokens put before the generation, the
    generated text, why it stopped, and the reply's token count."""

    is_call: bool
    head: tuple[int, ...]
    body: str
    finish: str
    completion_tokens: int


def finish_reply(llm: Any, fmt: NativeFormat, prompt: Sequence[int], first: int, is_call: bool,
                 grammar: Any, *, sampling: Sampling, seed: int, budget: int) -> NativeReply:
    """Generate the reply after its first token ``first`` (``grammar``: the call's, used when
    ``is_call``)."""
    if is_call:  # bare style: the grammar writes the whole call, from its first "{"
        head: list[int] = [] if fmt.bare_calls and first != fmt.call_token else fmt.call_open
    else:
        head, grammar = ([] if first in fmt.eog else [first]), None
    body, finish, tokens = "", "stop", len(head)
    if head or grammar is not None:
        runaway = RunawayStop(len(prompt) + len(head))
        reply = llm.create_completion(prompt=[*prompt, *head], grammar=grammar, seed=seed,
                                      temperature=sampling.temperature, top_p=sampling.top_p,
                                      max_tokens=budget, stop=[CALL_CLOSE],
                                      stopping_criteria=_criteria(runaway))
        choice = (reply.get("choices") or [{}])[0]
        body = str(choice.get("text") or "")
        finish = "runaway" if runaway.fired else str(choice.get("finish_reason") or "stop")
        tokens += int((reply.get("usage") or {}).get("completion_tokens") or 0)
    return NativeReply(is_call=is_call, head=tuple(head), body=body, finish=finish,
                       completion_tokens=tokens)


def _criteria(stop: RunawayStop) -> Any:
    from llama_cpp import StoppingCriteriaList  # the embedded extra: present where called

    return StoppingCriteriaList([stop])


def to_candidate(reply: NativeReply, fmt: NativeFormat, tools: Sequence[dict[str, Any]],
                 meta: dict[str, Any], budget: int) -> Candidate:
    """The candidate a reply stands for: a parsed call (unparseable when cut off), an answer,
    or a call the model wrote as text after all; a reply stopped in a loop is unparseable."""
    if reply.finish == "runaway":
        text = (fmt.detokenize(reply.head) + reply.body).strip()
        return Candidate(kind="unparseable", raw=text, meta=meta,
                         error="the reply fell into a loop (the same few tokens over and "
                               "over) and was stopped: write a short, plain reply")
    if reply.is_call:
        text = f"{CALL_OPEN}\n{reply.body.strip()}\n{CALL_CLOSE}"
        cand = parse_text(text, tools=tools, meta=meta)
        if cand.kind == "unparseable" and reply.finish == "length":
            return Candidate(kind="unparseable", raw=text, meta=meta,
                             error=f"{cand.error} (cut off at max_tokens {budget})")
        return cand
    answer = (fmt.detokenize(reply.head) + reply.body).strip()
    if not answer:
        return Candidate(kind="unparseable", raw="", meta=meta, error="the model wrote nothing")
    if "{" in answer and '"name"' in answer:  # a call written as text after all
        cand = parse_text(answer, tools=tools, meta=meta)
        if cand.kind == "call":
            return cand
    return Candidate(kind="answer", answer=answer, raw=answer, meta=meta)
