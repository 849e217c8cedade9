"""Prompt stage (below the trace, which rebuilds every request of a run with it): the prompts — a
search ``StepRequest`` turned into the chat messages a (small, local) model answers with its
next step.

Layout, chosen so consecutive requests share the longest prefix (llama.cpp and vLLM reuse it):
the system message (instructions; constant for a run), the user's request, then the path so far
as OpenAI tool-call turns (an assistant turn with one ``tool_calls`` entry and its ``tool``
result, trimmed to a budget), and last, only when there is something to say, one user message
with the notes for this attempt: rejected proposals and their violations (so the model can
repair them), earlier attempts at this point that failed (the "diversity" note: it must choose
a different action), a refused answer and why. The tools themselves travel in the ``tools``
parameter (OpenAI format); backends that decode a JSON step render them into the system turn.

The path turns are built by :func:`agentrt.protocol.path_messages` alone, and the fine-tuning
export (:func:`agentrt.trace.step_records`) rebuilds every request of a run from its tree
through :func:`build_messages` itself, so the training data shows the model exactly the
messages it was shown, notes included.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from agentrt.protocol import path_messages
from agentrt.search.steps import Feedback, StepRequest

__all__ = [
    "SYSTEM_PROMPT",
    "SYSTEM_PROMPT_TEXT",
    "build_messages",
    "describe_call",
    "feedback_text",
    "system_prompt",
]

SYSTEM_PROMPT = (
    "You are an assistant that completes the user's request by calling the available tools "
    "(HTTP APIs). Work one step at a time: a short thought, then exactly one tool call.\n"
    "Rules:\n"
    "- Use only the tools provided, with arguments that match their parameters exactly.\n"
    "- Take ids, prices and references from earlier tool results; never invent them.\n"
    "- When you have what the user asked for, call finish with return_type 'give_answer' and a "
    "final_answer that states the facts (names, dates, prices, booking references). If the "
    "request cannot be satisfied, give_answer saying why.\n"
    "- If this approach is stuck, call finish with return_type 'give_up_and_restart'."
)


#: The rules for a model answering in its own tool-call format (``native`` backends): a final
#: answer, a decline or a question is a plain-text reply, not a ``finish`` call.
SYSTEM_PROMPT_TEXT = (
    "You are an assistant that completes the user's request by calling the available tools "
    "(HTTP APIs), one call at a time.\n"
    "Rules:\n"
    "- Use only the tools provided, with arguments that match their parameters exactly.\n"
    "- Take ids, prices and references from earlier tool results; never invent them.\n"
    "- When you have what the user asked for, reply to the user in plain text (no tool call) "
    "stating the facts (names, dates, prices, booking references).\n"
    "- If no tool can do what the user asks, or the request cannot be satisfied, say so in plain "
    "text; if the request is ambiguous, ask the user which one they mean."
)


def system_prompt(instructions: str = "", *, native: bool = False) -> str:
    """The system message: the fixed rules and the caller's ``instructions`` (date, persona),
    the same for every request of an agent, so every prompt shares this prefix (a chat
    template puts the tools right after it). ``native``: the backend's model answers in plain
    text instead of calling ``finish``."""
    rules = SYSTEM_PROMPT_TEXT if native else SYSTEM_PROMPT
    return "\n\n".join(part for part in (rules, instructions.strip()) if part)


def _finish_words(native: bool) -> str:
    return "reply to the user in plain text" if native else "call finish with give_answer"


def describe_call(tool: str | None, arguments: Any, limit: int = 300) -> str:
    """``name({"a": 1})`` trimmed to ``limit`` characters, for notes to the model."""
    try:
        args = json.dumps(arguments, ensure_ascii=False, sort_keys=True, default=str)
    except (TypeError, ValueError):
        args = repr(arguments)
    text = f"{tool or '?'}({args})"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def feedback_text(feedback: Sequence[Feedback], *, native: bool = False) -> str:
    """The notes for the next attempt at a node, or "" when there are none."""
    rejected, failed, other = [], [], []
    for fb in feedback:
        what = describe_call(fb.tool, fb.arguments) if fb.tool else "your step"
        if fb.kind == "rejected":
            problems = "; ".join(fb.violations) or fb.text
            rejected.append(f"- {what} was not sent: {problems}")
        elif fb.kind in ("failed", "dead_end"):
            failed.append(f"- {what}: {fb.text}")
        elif fb.kind == "answer_rejected":
            other.append(f"- Your answer was not accepted: {fb.text}. Continue the task.")
        elif fb.kind == "gave_up":
            other.append("- An earlier attempt gave up; try a different approach.")
        elif fb.kind == "depth":
            other.append(f"- You are at the step limit: {_finish_words(native)} now.")
    parts = []
    if rejected:
        parts.append("These proposals were invalid; fix them (use only the listed tools and "
                     "their exact parameters):\n" + "\n".join(rejected))
    if failed:
        parts.append("Earlier attempts at this point did not work. Choose a DIFFERENT action "
                     "(an identical call will be refused):\n" + "\n".join(failed))
    parts.extend(other)
    return "\n\n".join(parts)


def build_messages(request: StepRequest, *, system: str = SYSTEM_PROMPT,
                   observation_chars: int = 1200, native: bool = False,
                   demonstration: str | None = None) -> list[dict[str, Any]]:
    """The conversation for one model request (OpenAI chat format); ``native`` phrases the
    notes for a model that answers in plain text. A ``demonstration`` (a worked example of a
    similar solved request, see :mod:`agentrt.demonstrations`) is a second system message:
    after the rules and, in a chat template, after the tools, so the long shared prefix stays
    the same from one request to the next while the example changes."""
    messages: list[dict[str, Any]] = [{"role": "system", "content": system}]
    if demonstration:
        messages.append({"role": "system", "content": demonstration})
    messages.append({"role": "user", "content": request.query})
    messages.extend(path_messages(request.path, observation_chars=observation_chars))
    notes = "\n".join(n for n in (_progress_note(request, native),
                                  feedback_text(request.feedback, native=native),
                                  _answer_note(request, native),
                                  _call_note(request)) if n)
    if notes:
        messages.append({"role": "user", "content": notes})
    return messages


def _answer_note(request: StepRequest, native: bool) -> str:
    """The request allows only an answer: the model just asked again for what it has, or the
    policy refused the change it proposed."""
    if not request.answer_only:
        return ""
    # short and direct: small models copy longer notes into their answer
    last = request.feedback[-1] if request.feedback else None
    if last is not None and last.kind == "failed" and last.text.startswith("denied"):
        # the policy refused a change: report what was found, or ask for what is missing
        say = "Reply to the user now without changing anything: say what you found, or ask " \
              "them for what is missing."
        return say if native else f"Call finish with give_answer now. {say}"
    if last is not None and last.kind == "rejected" and last.text == "rejected_ungrounded":
        # a value only the user can give (who a booking is for): ask for it
        say = "Reply to the user now without changing anything: ask them for what is missing."
        return say if native else f"Call finish with give_answer now. {say}"
    if native:
        return "Answer the question now from the tool result above."
    return "Call finish with give_answer now, answering from the tool result above."


def _call_note(request: StepRequest) -> str:
    """The request allows only a call: an answer was refused because work is left."""
    if not request.call_only:
        return ""
    return "Make the call that is still needed now; answer after it."


def _progress_note(request: StepRequest, native: bool = False) -> str:
    """After a call that changed something (a booking, a cancellation) went through, small
    models tend to repeat it or wander off; remind them that finishing is an option."""
    if not request.path:
        return ""
    last = request.path[-1].observation
    if getattr(last, "outcome", None) == "ok" and getattr(last, "side_effect", "safe") != "safe":
        return (f"The {request.path[-1].tool} call succeeded. If the user's request is now "
                f"complete, {_finish_words(native)} and state the result (references, "
                "names, dates, prices); otherwise take the next step.")
    return ""
