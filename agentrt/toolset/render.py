"""Toolset stage: render tools for a model — OpenAI tools format (plain and vLLM-strict) and
the union "one call of one of these tools" schema for grammar-constrained decoding."""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from typing import Any

from agentrt.protocol import FINISH_TOOL
from agentrt.toolset.tool import Tool

# keywords grammar backends (xgrammar, llama.cpp) reject or mishandle
_STRICT_DROP = {"uniqueItems", "multipleOf", "examples", "default", "readOnly", "writeOnly",
                "deprecated", "$comment", "contentEncoding", "contentMediaType"}
_STRICT_FORMATS = {"date", "date-time", "time", "email", "uuid", "ipv4", "ipv6", "uri",
                   "hostname", "duration"}


def strictify(schema: Any) -> Any:
    """A copy of ``schema`` suited to strict tools / grammars: closed objects, and keywords
    that vLLM's xgrammar backend rejects removed (validation still applies the full schema)."""
    if isinstance(schema, list):
        return [strictify(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _STRICT_DROP:
            continue
        if key == "format" and value not in _STRICT_FORMATS:
            continue
        if key in ("properties", "$defs", "patternProperties", "dependentSchemas") \
                and isinstance(value, dict):
            out[key] = {k: strictify(v) for k, v in value.items()}
        elif isinstance(value, (dict, list)):
            out[key] = strictify(value)
        else:
            out[key] = value
    if "pattern" in out:
        pattern = out["pattern"]
        if not (isinstance(pattern, str) and pattern.startswith("^") and pattern.endswith("$")):
            # an unanchored pattern means "contains"; llama.cpp's grammar converter asserts
            # on it and xgrammar treats it as anchored: leave it to validation
            del out["pattern"]
        else:  # pattern together with length bounds falls back in xgrammar
            out.pop("minLength", None)
            out.pop("maxLength", None)
    if out.get("type") == "object" or "properties" in out:
        out.setdefault("additionalProperties", False)
    return out


def openai_tool(tool: Tool, *, strict: bool = False) -> dict[str, Any]:
    params = strictify(tool.parameters) if strict else copy.deepcopy(tool.parameters)
    fn: dict[str, Any] = {"name": tool.name, "description": tool.description,
                          "parameters": params}
    if strict:
        fn["strict"] = True
    return {"type": "function", "function": fn}


def _rewrite_refs(node: Any, prefix: str) -> Any:
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str) and v.startswith("#/$defs/"):
                out[k] = f"#/$defs/{prefix}{v[len('#/$defs/'):]}"
            else:
                out[k] = _rewrite_refs(v, prefix)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(v, prefix) for v in node]
    return node


def step_branch(name: str, arguments: dict[str, Any], *, thought: bool) -> dict[str, Any]:
    props: dict[str, Any] = {}
    if thought:
        props["thought"] = {"type": "string"}
    props["name"] = {"const": name}
    props["arguments"] = arguments
    return {"type": "object", "properties": props, "required": list(props),
            "additionalProperties": False}


def call_schema(tools: Sequence[Tool], *, include_finish: bool = True, thought: bool = True,
                strict: bool = True) -> dict[str, Any]:
    """JSON Schema accepting exactly one step ``{"thought", "name", "arguments"}`` naming one
    of ``tools`` (and ``finish``); an ``anyOf`` with one branch per tool. Recursive ``$defs``
    of each tool are hoisted to the root under ``<tool>.<Name>``."""
    branches: list[dict[str, Any]] = []
    defs: dict[str, Any] = {}
    for tool in tools:
        params = strictify(tool.parameters) if strict else copy.deepcopy(tool.parameters)
        local = params.pop("$defs", None) or {}
        prefix = f"{tool.name}."
        for k, v in local.items():
            defs[prefix + k] = _rewrite_refs(v, prefix)
        branches.append(step_branch(tool.name, _rewrite_refs(params, prefix), thought=thought))
    if include_finish:
        fn = FINISH_TOOL["function"]
        branches.append(step_branch(fn["name"], copy.deepcopy(fn["parameters"]),
                                    thought=thought))
    schema: dict[str, Any] = {"anyOf": branches}
    if defs:
        schema["$defs"] = defs
    return schema


_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens; camelCase and snake_case split; a crude plural strip."""
    words = [w.lower() for w in _WORD.findall(text)]
    return [w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w
            for w in words]
