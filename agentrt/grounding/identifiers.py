"""Grounding stage: which tool arguments are identifier-like and must be grounded.

An identifier-like argument (a booking, offer or room id, a reference, a code) may only take a
value that appeared in the user's request or in an earlier observation on the path. Which
arguments those are is decided in this order, first match wins:

1. **The spec says so — OpenAPI 3 ``links``** (read by :mod:`agentrt.grounding.links`): a
   link from operation A's response to an argument of operation B grounds that argument, its
   candidates being the values at the linked field of A's responses.
2. **The spec says so — ``x-agentrt-grounded``** (read by :mod:`agentrt.grounding.links`):
   ``true`` marks an argument grounded; ``false`` opts it out of the inference below.
3. **Inference, where the spec is silent.** An argument is identifier-like when its schema
   is a string or integer without ``enum``/``const`` and

   - its format is ``uuid``; or
   - its name's last word is ``id``/``ids``/``uuid``/``guid``/``ref``/``refs``/``reference``/
     ``locator``/``pnr``/``cursor``/``token`` (``booking_id``, ``offerId``, ``hotel-ref``),
     or ``code``/``codes`` unless the name is a well-known code the model may know itself
     (``country_code``, ``currency_code``, ``language``, ``locale``, ``postal``/``zip``,
     ``phone``, ``status``, ``error``, ``color`` …), or ``number`` after ``booking``,
     ``confirmation``, ``reservation``, ``order``, ``ticket``, ``invoice``, ``tracking``,
     ``flight``, ``record`` or ``case``; or
   - its ``pattern`` is anchored, mixes letters and digits and admits no whitespace
     (``^HB[A-Z0-9]{6}$``, ``^[A-Z]{3}-[0-9]{2}$``) — a pure-letter pattern such as an IATA
     code ``^[A-Z]{3}$`` is not enough: "Lisbon → LIS" is knowledge, not invention.

   Never identifier-like: enum/const-constrained arguments, booleans, numbers, dates, times,
   e-mails, URIs, and free text (``query``, ``name``, ``description``, ``message``, ``note``,
   ``address``, ``city``, names ending in ``_name``/``_text``, ``maxLength`` > 200).

Request-given values still pass: ``origin: "LIS"`` is grounded by the request, a cancel by the
reference the user typed. Nested arguments are named by JSON-path-like strings:
``guest.id``, ``passengers[].id``, ``room_ids[]``.

:class:`GroundingPlan` puts the rules of a whole toolset together, with the tools that produce
each grounded value. The spec-reading names (:func:`read_spec_grounding`,
:class:`SpecGrounding`, :class:`LinkSource`, :data:`GROUNDED_EXTENSION`) are re-exported here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from agentrt.grounding.links import (
    GROUNDED_EXTENSION,
    LinkSource,
    SpecGrounding,
    Target,
    read_spec_grounding,
)
from agentrt.openapi import SpecWarning
from agentrt.toolset.tool import Tool

__all__ = [
    "GROUNDED_EXTENSION",
    "GroundingPlan",
    "GroundingRule",
    "LinkSource",
    "SpecGrounding",
    "identifier_arguments",
    "infer_identifier",
    "read_spec_grounding",
    "rules_for",
]

RuleReason = Literal["link", "extension", "inferred"]

_ID_WORDS = {"id", "ids", "uuid", "uuids", "guid", "ref", "refs", "reference", "references",
             "locator", "pnr", "cursor", "token"}
_CODE_WORDS = {"code", "codes"}
_NOT_CODE = {"country", "currency", "language", "lang", "locale", "postal", "zip", "post",
             "area", "phone", "dial", "calling", "status", "error", "http", "response",
             "color", "colour", "iso", "region", "state", "timezone", "tz", "unit", "units"}
_NUMBER_QUALIFIERS = {"booking", "confirmation", "reservation", "order", "ticket", "invoice",
                      "tracking", "flight", "record", "case"}
_FREE_TEXT = {"query", "q", "search", "keyword", "keywords", "text", "name", "names",
              "description", "message", "comment", "comments", "note", "notes", "title",
              "summary", "content", "address", "street", "city", "reason", "prompt",
              "instructions", "email", "phone"}
_FREE_TEXT_LAST = {"name", "names", "text", "description", "email", "phone", "address",
                   "message", "query", "comment", "note", "notes", "title"}
_NOT_ID_FORMATS = {"date", "date-time", "time", "email", "idn-email", "uri", "url", "iri",
                   "uri-reference", "hostname", "idn-hostname", "ipv4", "ipv6", "duration",
                   "password", "byte", "binary", "regex", "json-pointer"}
_WORD_SPLIT = re.compile(r"[_\-\s.]+|(?<=[a-z0-9])(?=[A-Z])")
_MAX_DEPTH = 6


@dataclass(frozen=True, slots=True, kw_only=True)
class GroundingRule:
    """Why one argument must be grounded, and where its candidate values come from."""

    argument: str
    reason: RuleReason
    #: for people and for the model: "link BookOffer from search_flight_offers",
    #: "name ends in _id", "pattern ^[A-Z0-9]{6}$", "format uuid"
    detail: str
    links: tuple[LinkSource, ...] = ()
    #: response field names whose observed values are the candidates
    fields: tuple[str, ...] = ()
    #: tools whose responses carry such a field (what to call first)
    producers: tuple[str, ...] = ()
    #: whether a read-only call can produce a value (False: only a change makes a new one —
    #: an existing one, e.g. the booking to cancel, can only come from the user)
    lookable: bool = True


# -- inference ---------------------------------------------------------------------------

def _words(name: str) -> list[str]:
    return [w.lower() for w in _WORD_SPLIT.split(name) if w]


def _types(schema: Mapping[str, Any]) -> set[str]:
    t = schema.get("type")
    if isinstance(t, str):
        return {t}
    if isinstance(t, list):
        return {x for x in t if isinstance(x, str)} - {"null"}
    return set()


def _pattern_is_identifier(pattern: str) -> bool:
    if not (pattern.startswith("^") and pattern.endswith("$")):
        return False
    if re.search(r"\\s| |\.(?![^\[]*\])|@|\\w", pattern):
        return False  # whitespace, any-char, e-mail-like or word-class patterns: free text
    has_digit = "0-9" in pattern or "\\d" in pattern
    classes = re.findall(r"\[[^\]]*\]", pattern)
    outside = re.sub(r"\[[^\]]*\]|\\.|\{[^}]*\}", "", pattern)
    has_alpha = any(("A-Z" in c or "a-z" in c) for c in classes) or bool(
        re.search(r"[A-Za-z]", outside))
    return has_digit and has_alpha


def infer_identifier(name: str, schema: Mapping[str, Any]) -> str | None:
    """Why an argument called ``name`` with ``schema`` is identifier-like (a short reason), or
    ``None`` (the inference rules are in the module docstring)."""
    if not isinstance(schema, Mapping) or "enum" in schema or "const" in schema:
        return None
    types = _types(schema)
    if types and not types & {"string", "integer"}:
        return None
    fmt = schema.get("format")
    if fmt == "uuid":
        return "format uuid"
    if isinstance(fmt, str) and fmt in _NOT_ID_FORMATS:
        return None
    max_len = schema.get("maxLength")
    if isinstance(max_len, int) and max_len > 200:
        return None
    words = _words(name)
    if not words:
        return None
    last = words[-1]
    if name.lower() in _FREE_TEXT or last in _FREE_TEXT_LAST:
        return None
    if last in _ID_WORDS:
        return f"name {name!r} ends in {last!r}"
    if last in _CODE_WORDS and not set(words[:-1]) & _NOT_CODE and len(words) <= 3:
        return f"name {name!r} ends in {last!r}"
    if last in ("number", "no", "num") and len(words) > 1 and words[-2] in _NUMBER_QUALIFIERS:
        return f"name {name!r} is a {words[-2]} number"
    pattern = schema.get("pattern")
    if "string" in types | ({"string"} if not types else set()) and isinstance(pattern, str) \
            and _pattern_is_identifier(pattern):
        return f"pattern {pattern}"
    return None


def _defs_lookup(root: Mapping[str, Any], node: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        target = (root.get("$defs") or {}).get(ref[len("#/$defs/"):])
        if isinstance(target, Mapping):
            return {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _argument_schemas(root: Mapping[str, Any], schema: Mapping[str, Any], path: str,
                      depth: int = 0) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """(argument path, leaf name, schema) for every property below ``schema``."""
    if depth > _MAX_DEPTH or not isinstance(schema, Mapping):
        return
    schema = _defs_lookup(root, schema)
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(key) or ():
            if isinstance(sub, Mapping):
                yield from _argument_schemas(root, sub, path, depth + 1)
    props = schema.get("properties")
    if isinstance(props, Mapping):
        for name, sub in props.items():
            if not isinstance(sub, Mapping):
                continue
            sub = _defs_lookup(root, sub)
            arg = f"{path}.{name}" if path else str(name)
            yield arg, str(name), sub
            yield from _nested(root, sub, arg, str(name), depth + 1)


def _nested(root: Mapping[str, Any], sub: Mapping[str, Any], arg: str, name: str,
            depth: int) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    if "array" in _types(sub) and isinstance(sub.get("items"), Mapping):
        items = _defs_lookup(root, sub["items"])
        yield f"{arg}[]", name, items
        yield from _argument_schemas(root, items, f"{arg}[]", depth + 1)
    elif "object" in _types(sub) or "properties" in sub:
        yield from _argument_schemas(root, sub, arg, depth + 1)


def qualified_name(path: str) -> str | None:
    """``hotels[].id`` / ``hotel.id`` → ``hotel_id``: the name a bare ``id`` field stands for
    (its parent, singular), so an argument ``hotel_id`` finds it."""
    parts = path.replace("[]", "").replace("[", ".").split(".")
    parts = [p for p in parts if p and not p.rstrip("]").isdigit()]
    if len(parts) < 2 or parts[-1].lower() not in ("id", "code", "ref", "reference", "uuid"):
        return None
    parent = parts[-2]
    if parent.endswith("ies"):
        parent = parent[:-3] + "y"
    elif parent.endswith("s") and not parent.endswith("ss"):
        parent = parent[:-1]
    return f"{parent}_{parts[-1].lower()}"


def _response_fields(tool: Tool) -> set[str]:
    names: set[str] = set()
    for status, schema in tool.responses.items():
        if status.startswith("2") and isinstance(schema, Mapping):
            root: Mapping[str, Any] = schema
            found = list(_argument_schemas(root, schema, ""))
            if "array" in _types(schema) and isinstance(schema.get("items"), Mapping):
                found += _argument_schemas(root, _defs_lookup(root, schema["items"]), "")
            for path, leaf, _ in found:
                names.add(leaf)
                alias = qualified_name(path)
                if alias:
                    names.add(alias)
    return names


def _fields_for(argument: str) -> tuple[str, ...]:
    leaf = argument.rsplit(".", 1)[-1].removesuffix("[]")
    out = [leaf]
    if leaf.endswith("s") and argument.endswith("[]"):
        out.append(leaf[:-1])  # room_ids[] ← room_id
    return tuple(out)


# -- rules for one tool ------------------------------------------------------------------------

def _arg_for(tool: Tool, target: Target) -> str | None:
    """The argument path of a (location, wire name / body path) target in ``tool``."""
    loc, wire = target
    if loc == "body":
        if tool.body is None:
            return None
        if tool.body.mode == "whole":
            return f"{tool.body.argument}.{wire}" if wire else tool.body.argument
        head = re.split(r"[.\[]", wire, maxsplit=1)[0]
        p = tool.param(head)
        return wire if p is not None and p.location == "body" else None
    for p in tool.params:
        if p.wire_name == wire and (not loc or p.location == loc):
            return p.name
    if not loc:  # an operation-level list names arguments as the model sees them
        if tool.param(re.split(r"[.\[]", wire, maxsplit=1)[0]) is not None:
            return wire
        if tool.body is not None and tool.body.mode == "whole":
            return f"{tool.body.argument}.{wire}"
    return None


def rules_for(tool: Tool, spec: SpecGrounding | None = None, *,
              infer: bool = True) -> dict[str, GroundingRule]:
    """The arguments of ``tool`` that must be grounded, each with its rule (spec first, then
    the inference unless ``infer=False``)."""
    rules: dict[str, GroundingRule] = {}
    opted_out: set[str] = set()
    if spec is not None and tool.pointer:
        for target, srcs in (spec.links.get(tool.pointer) or {}).items():
            arg = _arg_for(tool, target)
            if arg is None:
                continue
            names = tuple(dict.fromkeys(
                [s.field.rsplit(".", 1)[-1].removesuffix("[]") for s in srcs if s.field]
                + list(_fields_for(arg))))
            rules[arg] = GroundingRule(
                argument=arg, reason="link", links=srcs, fields=names,
                detail="; ".join(f"link {s.link} from {s.operation}" for s in srcs))
        for target, mark in (spec.marks.get(tool.pointer) or {}).items():
            arg = _arg_for(tool, target)
            if arg is None:
                continue
            if not mark:  # an explicit "no" beats the inference, not a declared link
                opted_out.add(arg)
            elif arg not in rules:
                rules[arg] = GroundingRule(argument=arg, reason="extension",
                                           detail=GROUNDED_EXTENSION, fields=_fields_for(arg))
    if infer:
        root = tool.parameters
        for arg, leaf, schema in _argument_schemas(root, root, ""):
            if arg in rules or arg in opted_out:
                continue
            if any(arg.startswith(o + ".") or arg.startswith(o + "[]") for o in opted_out):
                continue
            why = infer_identifier(leaf, schema)
            if why is not None:
                rules[arg] = GroundingRule(argument=arg, reason="inferred", detail=why,
                                           fields=_fields_for(arg))
    return rules


def identifier_arguments(tool: Tool, spec: SpecGrounding | None = None) -> frozenset[str]:
    """The argument paths of ``tool`` to ground (see :func:`rules_for`)."""
    return frozenset(rules_for(tool, spec))


def _service_key(tool: Tool) -> tuple[str, str]:
    return (tool.service.source, tool.service.name)


class GroundingPlan:
    """The grounding rules of a whole toolset, computed once: per tool, which arguments must
    be grounded and which tools produce their values.

    ``specs``: the :class:`SpecGrounding` of each document (matched to a tool by its
    ``service.source``, else by operation pointer and operationId).
    """

    def __init__(self, tools: Iterable[Tool], specs: Iterable[SpecGrounding] = (), *,
                 infer: bool = True) -> None:
        self.tools: dict[str, Tool] = {t.name: t for t in tools}
        self.specs = tuple(specs)
        self.warnings: tuple[SpecWarning, ...] = tuple(w for s in self.specs for w in s.warnings)
        produced: dict[str, list[str]] = {}
        self._by_operation: dict[str, list[str]] = {}
        for t in self.tools.values():
            for f in _response_fields(t):
                produced.setdefault(f, []).append(t.name)
            for key in (t.operation_id, t.pointer):
                if key:
                    self._by_operation.setdefault(key, []).append(t.name)
        self._rules: dict[str, dict[str, GroundingRule]] = {}
        for t in self.tools.values():
            spec = self._spec_for(t)
            rules = rules_for(t, spec, infer=infer)
            for arg, rule in rules.items():
                makers = [n for s in rule.links for n in self._by_operation.get(s.operation, ())]
                if not makers:
                    makers = [n for f in rule.fields for n in produced.get(f, ())]
                rules[arg] = GroundingRule(
                    argument=rule.argument, reason=rule.reason, detail=rule.detail,
                    links=rule.links, fields=rule.fields,
                    producers=tuple(dict.fromkeys(n for n in makers if n != t.name))
                    or tuple(dict.fromkeys(makers)))
            self._rules[t.name] = rules
        # what to call first: of the same service when it has any; those that need no
        # grounded value themselves (a search), else those that do not need this very field
        # (a create, not a get-by-id); safe before unsafe
        roots = {name for name, rules in self._rules.items() if not rules}
        for name, rules in self._rules.items():
            service = _service_key(self.tools[name])
            for arg, rule in rules.items():
                makers = [n for n in rule.producers
                          if _service_key(self.tools[n]) == service] or list(rule.producers)
                wanted = set(rule.fields)
                free = [n for n in makers if n in roots]
                acyclic = [n for n in makers if not wanted & {
                    f for r in self._rules[n].values() for f in r.fields}]
                chosen = free or acyclic or makers
                chosen.sort(key=lambda n: self.tools[n].unsafe)
                lookable = not makers or any(self.tools[n].side_effect == "safe"
                                             for n in (*free, *acyclic))
                rules[arg] = replace(rule, producers=tuple(chosen), lookable=lookable)

    def _spec_for(self, tool: Tool) -> SpecGrounding | None:
        """The document a tool was built from: it has the tool's operation (same pointer,
        same operationId), and — among several — the same source and title."""
        found = [s for s in self.specs if tool.pointer in s.operations
                 and (not tool.operation_id
                      or s.operation_ids.get(tool.operation_id) == tool.pointer)]
        if len(found) > 1:
            found = [s for s in found if (s.source, s.title) == _service_key(tool)] or \
                [s for s in found if s.title == tool.service.name] or found
        return found[0] if found else None

    def rules(self, tool: str) -> dict[str, GroundingRule]:
        """Argument path → rule for the tool named ``tool`` (``{}`` for an unknown name)."""
        return self._rules.get(tool, {})

    def tools_for_operation(self, operation: str) -> tuple[str, ...]:
        """Tool names of an operationId (or operation pointer)."""
        return tuple(self._by_operation.get(operation, ()))

    def __repr__(self) -> str:
        n = sum(len(r) for r in self._rules.values())
        return f"GroundingPlan({len(self.tools)} tools, {n} grounded arguments)"
