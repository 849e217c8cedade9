"""Backends stage: turn what a model wrote into :class:`~agentrt.backends.base.Candidate` steps.

Models and servers return a step in many shapes: an OpenAI ``tool_calls`` field, Hermes-style
``<tool_call>{...}</tool_call>`` tags left in the content by a server without a tool parser,
a bare JSON step object ``{"thought", "name", "arguments"}``, the same inside a fenced
```` ```json ```` block, or ToolBench's ``Thought/Action/Action Input`` lines. Arguments arrive
double-encoded, with stringified arrays, with trailing text. This module repairs the known
breakages (each repair is listed in ``Candidate.meta["repairs"]``) and never raises: output it
cannot read becomes a candidate of kind ``"unparseable"`` carrying the reason.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from agentrt.backends.base import Candidate

__all__ = ["parse_arguments", "parse_message", "parse_text", "tool_schemas"]

_DECODER = json.JSONDecoder()
_THINK = re.compile(r"<think>(.*?)(?:</think>|$)", re.DOTALL)
_HERMES = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.DOTALL)
_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)
_TOOLBENCH = re.compile(
    r"Action:\s*(?P<name>[\w.\-]+)\s*\n\s*Action Input:\s*(?P<args>.*)", re.DOTALL)
_THOUGHT_PREFIX = re.compile(r"^\s*Thought:\s*", re.IGNORECASE)


def tool_schemas(tools: Sequence[Mapping[str, Any]] | None) -> dict[str, dict[str, Any]]:
    """Map tool name -> its ``parameters`` JSON Schema, from OpenAI-format tools."""
    out: dict[str, dict[str, Any]] = {}
    for tool in tools or ():
        fn = tool.get("function", tool)
        if isinstance(fn, Mapping) and isinstance(fn.get("name"), str):
            params = fn.get("parameters")
            out[fn["name"]] = dict(params) if isinstance(params, Mapping) else {}
    return out


def _load_prefix(text: str) -> tuple[Any, str] | None:
    """Decode the first JSON value at the start of ``text``; return it and what follows."""
    text = text.strip()
    try:
        value, end = _DECODER.raw_decode(text)
    except ValueError:
        return None
    return value, text[end:].strip()


def _python_literal(text: str) -> Any | None:
    """Parse a Python-literal dict (single quotes, True/None) that some small models write."""
    start = text.find("{")
    if start < 0:
        return None
    depth = 0
    for i in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            try:
                value = ast.literal_eval(text[start:i + 1])
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                return None
            return value if isinstance(value, dict) else None
    return None


def _types_of(schema: Any) -> set[str]:
    if not isinstance(schema, Mapping):
        return set()
    kind = schema.get("type")
    if isinstance(kind, str):
        return {kind}
    if isinstance(kind, list):
        return {k for k in kind if isinstance(k, str)}
    found: set[str] = set()
    for key in ("anyOf", "oneOf"):
        for sub in schema.get(key, ()) or ():
            found |= _types_of(sub)
    return found


def _unstringify(arguments: dict[str, Any], schema: Mapping[str, Any] | None,
                 repairs: list[str]) -> dict[str, Any]:
    """Decode string values that the schema says must be arrays/objects (one level deep)."""
    props = schema.get("properties") if isinstance(schema, Mapping) else None
    if not isinstance(props, Mapping):
        return arguments
    fixed = dict(arguments)
    for key, value in arguments.items():
        types = _types_of(props.get(key))
        if not isinstance(value, str) or "string" in types or not types & {"array", "object"}:
            continue
        loaded = _load_prefix(value)
        if loaded is not None and loaded[1] == "" and isinstance(loaded[0], (list, dict)):
            fixed[key] = loaded[0]
            repairs.append(f"stringified_{type(loaded[0]).__name__}:{key}")
    return fixed


def parse_arguments(raw: Any, schema: Mapping[str, Any] | None = None,
                    repairs: list[str] | None = None) -> dict[str, Any] | str:
    """Turn an ``arguments`` value into a dict, repairing the usual breakages.

    Accepts a dict, a JSON string (also double-encoded, also followed by stray text), or a
    Python-literal dict. Returns the raw string when nothing works, so validation can say so.
    ``schema`` (the tool's parameter schema) lets stringified arrays/objects be decoded
    without touching values that really are strings.
    """
    repairs = repairs if repairs is not None else []
    value: Any = raw
    if value is None or value == "":
        return {}
    for _ in range(3):  # a JSON string of a JSON string of an object, at most
        if not isinstance(value, str):
            break
        loaded = _load_prefix(value)
        if loaded is None:
            literal = _python_literal(value)
            if literal is None:
                return raw if isinstance(raw, str) else json.dumps(raw)
            repairs.append("python_literal")
            value = literal
            break
        if loaded[1]:
            repairs.append("trailing_text")
        if isinstance(loaded[0], str):
            repairs.append("double_encoded")
        value = loaded[0]
    if not isinstance(value, dict):
        return raw if isinstance(raw, str) else json.dumps(raw)
    return _unstringify(value, schema, repairs)


def _split_think(text: str) -> tuple[str, str]:
    """Return (reasoning inside <think> tags, the rest)."""
    thoughts = [m.strip() for m in _THINK.findall(text)]
    return "\n".join(t for t in thoughts if t), _THINK.sub("", text)


def _candidate_from_object(obj: Mapping[str, Any], *, thought: str, raw: str, source: str,
                           schemas: Mapping[str, Mapping[str, Any]], repairs: list[str],
                           meta: Mapping[str, Any]) -> Candidate | None:
    """A step/call object -> candidate; None when the object names no tool."""
    if isinstance(obj.get("function"), Mapping):  # {"type": "function", "function": {...}}
        obj = obj["function"]
    name = obj.get("name", obj.get("tool", obj.get("action")))
    if not isinstance(name, str) or not name.strip():
        return None
    name = name.strip()
    raw_args: Any = next((obj[k] for k in ("arguments", "parameters", "args", "action_input")
                     if k in obj), {})
    args = parse_arguments(raw_args, schemas.get(name), repairs)
    own = obj.get("thought")
    text = own.strip() if isinstance(own, str) else ""
    full = "\n".join(t for t in (thought, text) if t)
    return Candidate.from_call(name, args, thought=full, raw=raw,
                               meta={**meta, "source": source, "repairs": repairs})


def _json_objects(text: str) -> list[tuple[dict[str, Any], int, bool]]:
    """Every top-level JSON object in ``text``: (object, start offset, trailing_text)."""
    found = []
    i = text.find("{")
    while i >= 0:
        try:
            value, end = _DECODER.raw_decode(text, i)
        except ValueError:
            i = text.find("{", i + 1)
            continue
        if isinstance(value, dict):
            found.append((value, i, bool(text[end:].strip())))
        i = text.find("{", end)
    return found


def parse_text(text: str | None, *, tools: Sequence[Mapping[str, Any]] | None = None,
               meta: Mapping[str, Any] | None = None) -> Candidate:
    """Parse a step the model wrote as text (content of a chat message or a completion)."""
    meta = dict(meta or {})
    raw = text or ""
    if not raw.strip():
        return Candidate(kind="unparseable", raw=raw, meta=meta, error="the model wrote nothing")
    schemas = tool_schemas(tools)
    reasoning, body = _split_think(raw)

    hermes = _HERMES.search(body)
    if hermes:
        repairs: list[str] = []
        thought = "\n".join(t for t in (reasoning, body[:hermes.start()].strip()) if t)
        inner = hermes.group(1)
        loaded = _load_prefix(inner)
        obj = loaded[0] if loaded else _python_literal(inner)
        if loaded and loaded[1]:
            repairs.append("trailing_text")
        if isinstance(obj, dict):
            cand = _candidate_from_object(obj, thought=thought, raw=raw, source="hermes",
                                          schemas=schemas, repairs=repairs, meta=meta)
            if cand is not None:
                return cand
        return Candidate(kind="unparseable", thought=thought, raw=raw, meta=meta,
                         error="<tool_call> block does not hold a JSON object with a 'name'")

    segments = [("fence", m.group(1), m.start()) for m in _FENCE.finditer(body)]
    for source, segment, offset in [*segments, ("json", body, 0)]:
        for obj, start, trailing in _json_objects(segment):
            repairs = ["trailing_text"] if trailing and source == "json" else []
            # The prose before the object (or before its fence) is the thought.
            prefix = _THOUGHT_PREFIX.sub("", body[:offset] if source == "fence"
                                         else segment[:start]).strip()
            thought = "\n".join(t for t in (reasoning, prefix) if t)
            cand = _candidate_from_object(obj, thought=thought, raw=raw, source=source,
                                          schemas=schemas, repairs=repairs, meta=meta)
            if cand is not None:
                return cand

    toolbench = _TOOLBENCH.search(body)
    if toolbench:
        repairs = []
        thought = _THOUGHT_PREFIX.sub("", body[:toolbench.start()]).strip()
        thought = "\n".join(t for t in (reasoning, thought) if t)
        args = parse_arguments(toolbench.group("args").strip(),
                               schemas.get(toolbench.group("name")), repairs)
        name = toolbench.group("name")
        if name.lower() == "finish":
            name = "finish"
        return Candidate.from_call(name, args, thought=thought, raw=raw,
                                   meta={**meta, "source": "toolbench", "repairs": repairs})

    literal = _python_literal(body)
    if literal is not None:
        cand = _candidate_from_object(literal, thought=reasoning, raw=raw, source="json",
                                      schemas=schemas, repairs=["python_literal"], meta=meta)
        if cand is not None:
            return cand
    return Candidate(kind="unparseable", thought=reasoning or body.strip(), raw=raw, meta=meta,
                     error="no tool call found: answer with one JSON object "
                           '{"thought": ..., "name": <tool or "finish">, "arguments": {...}}')


def parse_message(message: Mapping[str, Any] | None, *,
                  tools: Sequence[Mapping[str, Any]] | None = None,
                  meta: Mapping[str, Any] | None = None) -> Candidate:
    """Parse one OpenAI chat ``message`` (a choice's ``message``) into a candidate.

    The ``tool_calls`` field wins; otherwise the content is parsed with :func:`parse_text`.
    Only the first tool call is a step; any further calls are noted in ``meta``.
    """
    meta = dict(meta or {})
    if not isinstance(message, Mapping):
        return Candidate(kind="unparseable", meta=meta, error="the reply has no message")
    content = message.get("content")
    content = content if isinstance(content, str) else ""
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    calls = message.get("tool_calls")
    if isinstance(calls, list) and calls:
        first: Mapping[str, Any] = calls[0] if isinstance(calls[0], Mapping) else {}
        inner = first.get("function")
        fn: Mapping[str, Any] = inner if isinstance(inner, Mapping) else first
        name = fn.get("name")
        raw = json.dumps(calls, ensure_ascii=False)
        think, rest = _split_think(content)
        thought_parts = [reasoning if isinstance(reasoning, str) else "", think, rest]
        thought = "\n".join(t.strip() for t in thought_parts if t and t.strip())
        if len(calls) > 1:
            meta["extra_tool_calls"] = len(calls) - 1
        if not isinstance(name, str) or not name:
            return Candidate(kind="unparseable", thought=thought, raw=raw, meta=meta,
                             error="tool call without a function name")
        repairs: list[str] = []
        args = parse_arguments(fn.get("arguments"), tool_schemas(tools).get(name), repairs)
        call_id = first.get("id") if isinstance(first.get("id"), str) else None
        return Candidate.from_call(name, args, thought=thought, raw=raw, call_id=call_id,
                                   meta={**meta, "source": "tool_calls", "repairs": repairs})
    if isinstance(reasoning, str) and reasoning.strip() and "<think>" not in content:
        content = f"<think>{reasoning}</think>{content}"
    return parse_text(content, tools=tools, meta=meta)
