"""Backends stage: prompts for backends that decode a JSON step instead of native tool calls.

The embedded llama.cpp model, vLLM in-process and an HTTP server in ``json`` mode all get the
tools as text in a system message and answer with one step object
``{"thought": ..., "name": ..., "arguments": {...}}`` (grammar-constrained where possible).
Tool-call turns already in the conversation are rewritten into that same textual form so any
chat template can render them.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from agentrt.backends.base import Message

__all__ = ["STEP_INSTRUCTIONS", "bound_thought", "flatten_messages", "render_tools", "step_messages"]

STEP_INSTRUCTIONS = (
    "You solve the user's task by calling tools, one step at a time. Answer every turn with "
    "exactly one JSON object and nothing else:\n"
    '{"thought": "<one short sentence of reasoning>", "name": "<tool name>", '
    '"arguments": {<arguments matching the tool\'s parameters>}}\n'
    'When the task is done, call "finish" with {"return_type": "give_answer", '
    '"final_answer": "<answer for the user>"}; if this approach is stuck, call "finish" with '
    '{"return_type": "give_up_and_restart"}.'
)


def _compact(schema: Any) -> str:
    return json.dumps(schema, ensure_ascii=False, separators=(",", ":"))


def _type_of(schema: Any, depth: int = 0) -> str:
    """A short, readable type for a parameter: ``string``, ``date``, ``a|b|c``, ``[{x*, y}]``."""
    if not isinstance(schema, Mapping):
        return "any"
    if "enum" in schema:
        return "|".join(json.dumps(v) if not isinstance(v, str) else v for v in schema["enum"])
    if "const" in schema:
        return json.dumps(schema["const"])
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list):
            return " or ".join(_type_of(s, depth) for s in schema[key][:3])
    kind = schema.get("type", "any")
    if isinstance(kind, list):
        kind = "|".join(str(k) for k in kind if k != "null") or "null"
    if kind == "array":
        return f"[{_type_of(schema.get('items', {}), depth)}]"
    if kind == "object" or "properties" in schema:
        if depth >= 2 or not isinstance(schema.get("properties"), Mapping):
            return "object"
        return "{" + _fields(schema, depth + 1) + "}"
    text = str(schema.get("format") or kind)
    if isinstance(schema.get("pattern"), str):
        text += f" {schema['pattern']}"
    lo, hi = schema.get("minimum"), schema.get("maximum")
    if lo is not None or hi is not None:
        text += f" {'' if lo is None else lo}..{'' if hi is None else hi}"
    return text


def _fields(schema: Mapping[str, Any], depth: int) -> str:
    required = set(schema.get("required") or ())
    return ", ".join(f"{name}{'*' if name in required else ''}: {_type_of(sub, depth)}"
                     for name, sub in (schema.get("properties") or {}).items())


def render_tools(tools: Sequence[Mapping[str, Any]]) -> str:
    """The tools as compact text: one line per tool, ``name(arg*: type, …): description``
    (``*`` marks required arguments). A fraction of the tokens of the JSON Schemas, which
    small models read no better; the grammar and validation enforce the full schema."""
    lines = ["Tools (* = required argument):"]
    for tool in tools:
        fn = tool.get("function", tool)
        if not isinstance(fn, Mapping):
            continue
        desc = " ".join(str(fn.get("description") or "").split())
        params = fn.get("parameters") or {}
        lines.append(f"- {fn.get('name')}({_fields(params, 0)}): {desc}".rstrip(": "))
    return "\n".join(lines)


def _call_text(message: Mapping[str, Any]) -> str:
    """An assistant message that made tool calls -> the step object(s) as JSON text."""
    raw_content = message.get("content")
    content = raw_content if isinstance(raw_content, str) else ""
    steps = []
    for call in message.get("tool_calls") or ():
        fn = call.get("function", {}) if isinstance(call, Mapping) else {}
        args: Any = fn.get("arguments", {})
        if isinstance(args, str):
            with contextlib.suppress(ValueError):
                args = json.loads(args)
        steps.append(json.dumps({"thought": content or "", "name": fn.get("name"),
                                 "arguments": args}, ensure_ascii=False))
    return "\n".join(steps) or content


def flatten_messages(messages: Sequence[Message]) -> list[Message]:
    """Rewrite tool-call turns as plain text, so templates without tool support render them.

    An assistant turn with ``tool_calls`` becomes its step object as JSON; a ``tool`` turn
    becomes a user turn ``Observation (<name>): <content>``. Other turns are kept as they are.
    """
    out: list[Message] = []
    names: dict[str, str] = {}
    for message in messages:
        role = message.get("role")
        if role == "assistant" and message.get("tool_calls"):
            for call in message["tool_calls"]:
                if isinstance(call, Mapping) and isinstance(call.get("id"), str):
                    names[call["id"]] = str(call.get("function", {}).get("name", ""))
            out.append({"role": "assistant", "content": _call_text(message)})
        elif role == "tool":
            name = message.get("name") or names.get(str(message.get("tool_call_id")), "")
            label = f"Observation ({name})" if name else "Observation"
            content = message.get("content")
            text = content if isinstance(content, str) else json.dumps(content)
            out.append({"role": "user", "content": f"{label}: {text}"})
        else:
            out.append({k: v for k, v in message.items() if k in ("role", "content", "name")})
    return out


def step_messages(messages: Sequence[Message], tools: Sequence[Mapping[str, Any]]
                  ) -> list[Message]:
    """The conversation for a JSON-step backend: tools and instructions in the system turn.

    The system turn comes first and only depends on the tools, so consecutive requests of a
    search share the longest possible prefix (what llama.cpp and vLLM prefix caching reuse).
    """
    flat = flatten_messages(messages)
    system = f"{STEP_INSTRUCTIONS}\n\n{render_tools(tools)}"
    if flat and flat[0].get("role") == "system":
        system = f"{flat[0].get('content') or ''}\n\n{system}".strip()
        flat = flat[1:]
    return [{"role": "system", "content": system}, *flat]


def bound_thought(constraint: dict[str, Any] | None, max_chars: int | None
                  ) -> dict[str, Any] | None:
    """The constraint with ``maxLength`` on each branch's ``thought`` (where it has none).

    Small models under a grammar otherwise ramble inside the thought until ``max_tokens``
    cuts the step off before its call; a bounded thought always leaves room for the call.
    """
    if constraint is None or not max_chars:
        return constraint

    def bound(schema: Any) -> Any:
        if not isinstance(schema, Mapping):
            return schema
        out = dict(schema)
        for key in ("anyOf", "oneOf"):
            if isinstance(out.get(key), list):
                out[key] = [bound(branch) for branch in out[key]]
        props = out.get("properties")
        thought = props.get("thought") if isinstance(props, Mapping) else None
        if isinstance(props, Mapping) and isinstance(thought, Mapping) \
                and thought.get("type") == "string" and "maxLength" not in thought:
            out["properties"] = {**props, "thought": {**thought, "maxLength": max_chars}}
        return out

    return bound(constraint)
