"""Toolset stage: one `Operation` of a `Spec` → one `Tool` (name, description, argument schema,
parameter locations, side-effect class)."""

from __future__ import annotations

import copy
import hashlib
import re
from typing import Any

from jsonschema import Draft202012Validator
from referencing.exceptions import Unresolvable

from agentrt.openapi import Operation, Spec
from agentrt.toolset.marks import from_operation
from agentrt.toolset.servers import operation_service
from agentrt.toolset.tool import (
    COMPENSATION_EXTENSION,
    Body,
    Param,
    Service,
    SideEffect,
    Tool,
)

MAX_NAME = 64
MAX_DESCRIPTION = 400
#: headers the runtime owns: never offered to the model
RESERVED_HEADERS = {"accept", "content-type", "authorization", "idempotency-key", "cookie"}
_JSON = re.compile(r"^application/(.+\+)?json(;.*)?$")


def sanitize_name(raw: str) -> str:
    """``[A-Za-z0-9_-]``, at most 64 characters (long names keep a hash suffix)."""
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", raw).strip("_") or "operation"
    if len(name) > MAX_NAME:
        digest = hashlib.sha1(raw.encode()).hexdigest()[:8]
        name = f"{name[: MAX_NAME - 9]}_{digest}"
    return name


def tool_name(op: Operation) -> str:
    if op.operation_id:
        return sanitize_name(op.operation_id)
    path = re.sub(r"[{}]", "", op.path).strip("/").replace("/", "_")
    return sanitize_name(f"{op.method.lower()}_{path}" if path else op.method.lower())


def _clean(text: str) -> str:
    text = re.sub(r"<[^>]+>", " ", text)               # HTML tags
    text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text)  # markdown links
    text = re.sub(r"(\*\*|__|`)", "", text)             # emphasis and code marks, not the
    text = re.sub(r"(^|\n)\s*#+\s*", r"\1", text)          # underscores inside identifiers
    return re.sub(r"\s+", " ", text).strip()


def describe(op: Operation) -> str:
    """Summary, then as much of the description as fits, cut at a sentence end."""
    summary, desc = _clean(op.summary), _clean(op.description)
    text = summary
    if desc and desc.lower() != summary.lower():
        text = f"{summary.rstrip('.')}. {desc}" if summary else desc
    if len(text) > MAX_DESCRIPTION:
        cut = text[:MAX_DESCRIPTION]
        end = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "))
        text = cut[: end + 1] if end > len(summary) // 2 else cut.rstrip() + "…"
    return text or f"{op.method} {op.path}"


def side_effect_of(op: Operation, source: str) -> SideEffect:
    """The operation's side-effect class (precedence: `agentrt.toolset.marks`)."""
    return side_effect_and_source(op, source)[0]


def side_effect_and_source(op: Operation, source: str) -> tuple[SideEffect, str]:
    """The class and the mark it came from: ``x-agentrt-side-effect``, then
    ``x-openai-isConsequential``, then the HTTP method."""
    return from_operation(op.method, op.extensions, source=source, pointer=op.pointer)


def _auth_params(service: Service) -> set[tuple[str, str]]:
    """(location, lower-case name) of parameters the executor's auth fills in."""
    out = set()
    for scheme in service.security_schemes.values():
        if scheme.get("type") == "apiKey" and isinstance(scheme.get("name"), str):
            out.add((str(scheme.get("in")), scheme["name"].lower()))
    return out


def build_tool(op: Operation, spec: Spec, service: Service, name: str) -> Tool:
    props: dict[str, Any] = {}
    required: list[str] = []
    params: list[Param] = []
    hidden = _auth_params(service)
    for p in op.parameters:
        key = (p.location, p.name.lower())
        if key in hidden or (p.location == "header" and p.name.lower() in RESERVED_HEADERS):
            continue
        arg = p.name if p.name not in props else f"{p.name}_{p.location}"
        props[arg] = copy.deepcopy(p.schema)
        if p.required:
            required.append(arg)
        params.append(Param(name=arg, location=p.location, wire_name=p.name,
                            required=p.required, schema=p.schema, style=p.style,
                            explode=p.explode))
    body: Body | None = None
    if op.request_body is not None and op.request_body.content:
        media = _pick_media(op.request_body.content)
        schema = op.request_body.content[media]
        if _flattens(schema, taken=set(props)):
            body_required = set(schema.get("required") or ())
            for prop, sub in schema["properties"].items():
                props[prop] = copy.deepcopy(sub)
                req = op.request_body.required and prop in body_required
                if req:
                    required.append(prop)
                params.append(Param(name=prop, location="body", wire_name=prop, required=req,
                                    schema=sub))
            body = Body(media_type=media, mode="flat", required=op.request_body.required)
        else:
            arg = "body" if "body" not in props else "request_body"
            props[arg] = copy.deepcopy(schema)
            if op.request_body.description and "description" not in props[arg]:
                props[arg]["description"] = op.request_body.description
            # a required body that may be `{}` need not be asked for: the executor sends `{}`
            if op.request_body.required and not (_object_media(media)
                                                 and _accepts_empty(schema, op.defs)):
                required.append(arg)
            body = Body(media_type=media, mode="whole", argument=arg,
                        required=op.request_body.required)
    parameters: dict[str, Any] = {"type": "object", "properties": props,
                                  "additionalProperties": False}
    if required:
        parameters["required"] = required
    if op.defs:
        parameters["$defs"] = copy.deepcopy(op.defs)
    # `security: []` on an operation means "no auth here": one empty alternative
    security = service.security if op.security is None else (op.security or ({},))
    side_effect, side_effect_source = side_effect_and_source(op, spec.source)
    return Tool(
        name=name, description=describe(op), method=op.method, path=op.path,
        parameters=parameters, params=tuple(params), body=body,
        side_effect=side_effect, side_effect_source=side_effect_source,
        service=operation_service(service, op.servers),
        operation_id=op.operation_id, response_schema=_with_defs(_success_schema(op), op),
        responses={k: _with_defs(v, op) for k, v in op.responses.items()},
        security=tuple(security),
        compensation=op.extensions.get(COMPENSATION_EXTENSION), tags=op.tags,
        pointer=op.pointer,
    )


def _flattens(schema: Any, *, taken: set[str]) -> bool:
    """Whether a body's properties can be offered as top-level arguments.

    A plain object schema whose property names clash with no parameter flattens; so does one
    with ``properties: {}`` that allows nothing else (the body is then ``{}``, no arguments).
    """
    if not isinstance(schema, dict) or schema.get("type") not in ("object", None):
        return False
    if "$ref" in schema or any(k in schema for k in ("allOf", "anyOf", "oneOf")):
        return False
    names = schema.get("properties")
    if not isinstance(names, dict) or set(names) & taken:
        return False
    if names:
        return True
    open_ended = schema.get("additionalProperties", False) is not False or any(
        k in schema for k in ("patternProperties", "unevaluatedProperties", "propertyNames"))
    return not open_ended and not schema.get("required") and not schema.get("minProperties")


def _object_media(media: str) -> bool:
    """Media types whose body is an object: an empty one can be sent as ``{}`` / no fields."""
    bare = media.split(";")[0].strip().lower()
    return bool(_JSON.match(bare)) or bare in ("application/x-www-form-urlencoded",
                                               "multipart/form-data")


def _accepts_empty(schema: dict[str, Any], defs: dict[str, Any]) -> bool:
    """Whether ``{}`` is a valid body under ``schema`` (with the operation's ``$defs``)."""
    full = {**schema, "$defs": {**defs, **schema.get("$defs", {})}} if defs else schema
    try:
        return bool(Draft202012Validator(full).is_valid({}))
    except (Unresolvable, re.error, RecursionError, TypeError, ValueError):
        return False  # a schema jsonschema cannot run: keep the body a required argument


def _pick_media(content: dict[str, Any]) -> str:
    for media in content:
        if _JSON.match(media):
            return media
    for media in ("application/x-www-form-urlencoded", "multipart/form-data"):
        if media in content:
            return media
    return next(iter(content))


def _success_schema(op: Operation) -> dict[str, Any] | None:
    for status in sorted(op.responses):
        if status.startswith("2") and op.responses[status] is not None:
            return op.responses[status]
    return None


def _with_defs(schema: dict[str, Any] | None, op: Operation) -> dict[str, Any] | None:
    """Response schemas may point into the operation's shared ``$defs``: carry them along."""
    if schema is None or not op.defs:
        return schema
    return {**schema, "$defs": op.defs}
