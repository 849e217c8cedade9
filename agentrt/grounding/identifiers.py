"""Grounding stage: which tool arguments are identifier-like and must be grounded.

An identifier-like argument (a booking, offer or room id, a reference, a code) may only take a
value that appeared in the user's request or in an earlier observation on the path. Which
arguments those are is decided in this order, first match wins:

1. **The spec says so — OpenAPI 3 ``links``.** A link on a response of operation A naming
   operation B (``operationId``, or a local ``operationRef``) with ``parameters:
   {booking_id: "$response.body#/booking_id"}`` (a parameter may be qualified, ``path.id``) or
   ``requestBody: {offer_id: "$response.body#/offers/0/offer_id"}`` (braced ``{$…}`` forms
   too) makes that argument of B grounded, its candidates being the values at that field of
   A's responses (numeric pointer tokens are read as "any item": ``offers[].offer_id``).
   A link naming an unknown operation or parameter, or an unreadable expression, is a
   :class:`~agentrt.openapi.SpecWarning` with its JSON pointer (``strict=True``: a
   :class:`~agentrt.errors.SpecError`); the link is skipped, nothing crashes.
2. **The spec says so — ``x-agentrt-grounded``.** ``true`` on a parameter object, on the
   schema of a parameter or body property (also on a ``$ref`` target such as
   ``components/schemas/OfferId``, which marks every use), or a list of argument names on the
   operation; ``false`` opts an argument out of the inference below. Any other value is a
   spec warning.
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
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import referencing
import referencing.exceptions
from referencing.jsonschema import DRAFT202012

from agentrt.errors import SpecError
from agentrt.openapi import SpecWarning
from agentrt.openapi.model import HTTP_METHODS
from agentrt.openapi.schema import escape_pointer_token
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

#: the `x-` extension that marks (true) or unmarks (false) an argument as grounded
GROUNDED_EXTENSION = "x-agentrt-grounded"

RuleReason = Literal["link", "extension", "inferred"]
#: (location or "" when the link does not say, wire name / body property path)
Target = tuple[str, str]

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
_DOC_URI = "urn:agentrt:document"


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkSource:
    """One OpenAPI link feeding an argument: which operation's response, which field."""

    #: the operationId of the operation whose response provides the value (or its pointer
    #: when it has none)
    operation: str
    status: str
    #: generic path of the field in that response body (``offers[].offer_id``); "" when the
    #: expression names no body field (``$request.path.id``, a header)
    field: str
    expression: str
    link: str
    pointer: str
    description: str = ""


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


@dataclass(frozen=True, slots=True, kw_only=True)
class SpecGrounding:
    """What one OpenAPI document says about grounding (links and the extension)."""

    source: str
    #: target operation pointer -> (location, wire name) -> links feeding it
    links: dict[str, dict[Target, tuple[LinkSource, ...]]] = field(default_factory=dict)
    #: operation pointer -> (location, wire path) -> marked grounded (True) or opted out
    marks: dict[str, dict[Target, bool]] = field(default_factory=dict)
    #: operationId -> operation pointer
    operation_ids: dict[str, str] = field(default_factory=dict)
    #: every operation pointer of the document
    operations: frozenset[str] = frozenset()
    #: ``info.title`` (a toolset's ``Service.name``)
    title: str = ""
    warnings: tuple[SpecWarning, ...] = ()


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


# -- the spec: links and the extension ------------------------------------------------------

class _Doc:
    """A raw OpenAPI document with local ``$ref`` lookups (by :mod:`referencing`)."""

    def __init__(self, doc: Mapping[str, Any]) -> None:
        self.doc = doc
        resource = referencing.Resource.from_contents(dict(doc),
                                                      default_specification=DRAFT202012)
        self.resolver = referencing.Registry().with_resource(_DOC_URI, resource).resolver(
            base_uri=_DOC_URI)

    def deref(self, node: Any, pointer: str) -> tuple[Any, str, list[Mapping[str, Any]]]:
        """Follow local ``$ref`` chains: (target, its pointer, the nodes passed through)."""
        passed: list[Mapping[str, Any]] = []
        for _ in range(16):
            if not isinstance(node, Mapping) or not isinstance(node.get("$ref"), str):
                break
            passed.append(node)
            ref = node["$ref"]
            if not ref.startswith("#"):
                return None, pointer, passed
            try:
                node = self.resolver.lookup(ref).contents
            except referencing.exceptions.Unresolvable:
                return None, pointer, passed
            pointer = ref
        return node, pointer, passed


def _operations(doc: _Doc) -> Iterator[tuple[str, Mapping[str, Any], list[Any]]]:
    paths = doc.doc.get("paths")
    if not isinstance(paths, Mapping):
        return
    for path, item in paths.items():
        ip = f"#/paths/{escape_pointer_token(str(path))}"
        item, _, _ = doc.deref(item, ip)
        if not isinstance(item, Mapping):
            continue
        raw_shared = item.get("parameters")
        shared: list[Any] = raw_shared if isinstance(raw_shared, list) else []
        for method in HTTP_METHODS:
            op = item.get(method)
            if isinstance(op, Mapping):
                yield f"{ip}/{method}", op, list(shared)


def _params_of(doc: _Doc, op: Mapping[str, Any], shared: list[Any],
               pointer: str) -> list[tuple[Mapping[str, Any], str]]:
    raw = [(p, f"{pointer.rsplit('/', 1)[0]}/parameters/{i}") for i, p in enumerate(shared)]
    raw_own = op.get("parameters")
    own: list[Any] = raw_own if isinstance(raw_own, list) else []
    raw += [(p, f"{pointer}/parameters/{i}") for i, p in enumerate(own)]
    out = []
    for p, ptr in raw:
        target, _, _ = doc.deref(p, ptr)
        if isinstance(target, Mapping) and isinstance(target.get("name"), str):
            out.append((target, ptr))
    return out


def _body_schema(doc: _Doc, op: Mapping[str, Any], pointer: str) -> tuple[Any, str]:
    rb, rptr, _ = doc.deref(op.get("requestBody"), f"{pointer}/requestBody")
    if not isinstance(rb, Mapping) or not isinstance(rb.get("content"), Mapping):
        return None, rptr
    for media, obj in rb["content"].items():
        if ("json" in str(media) or "form" in str(media)) and isinstance(obj, Mapping) \
                and "schema" in obj:
            return obj["schema"], f"{rptr}/content/{escape_pointer_token(str(media))}/schema"
    return None, rptr


def _body_marks(doc: _Doc, schema: Any, ptr: str, path: str, out: dict[Target, bool],
                problems: list[tuple[str, str]], depth: int = 0) -> set[str]:
    """Collect the extension on body properties; return the top-level property names."""
    node, ptr, _ = doc.deref(schema, ptr)
    if depth > _MAX_DEPTH or not isinstance(node, Mapping):
        return set()
    names: set[str] = set()
    for key in ("allOf", "anyOf", "oneOf"):
        for i, sub in enumerate(node.get(key) or ()):
            names |= _body_marks(doc, sub, f"{ptr}/{key}/{i}", path, out, problems, depth + 1)
    props = node.get("properties")
    if isinstance(props, Mapping):
        for name, sub in props.items():
            names.add(str(name))
            sptr = f"{ptr}/properties/{escape_pointer_token(str(name))}"
            arg = f"{path}.{name}" if path else str(name)
            mark = _mark_of(doc, sub, sptr, problems)
            if mark is not None:
                out[("body", arg)] = mark
            target, tptr, _ = doc.deref(sub, sptr)
            if isinstance(target, Mapping):
                if isinstance(target.get("items"), Mapping):
                    imark = _mark_of(doc, target["items"], f"{tptr}/items", problems)
                    if imark is not None:
                        out[("body", f"{arg}[]")] = imark
                    _body_marks(doc, target["items"], f"{tptr}/items", f"{arg}[]", out,
                                problems, depth + 1)
                else:
                    _body_marks(doc, target, tptr, arg, out, problems, depth + 1)
    return names


def _mark_of(doc: _Doc, node: Any, ptr: str, problems: list[tuple[str, str]]) -> bool | None:
    """The extension's value on ``node`` or along its ``$ref`` chain (nearest wins)."""
    target, tptr, passed = doc.deref(node, ptr)
    for where, p in [(n, ptr) for n in passed] + [(target, tptr)]:
        if isinstance(where, Mapping) and GROUNDED_EXTENSION in where:
            value = where[GROUNDED_EXTENSION]
            if isinstance(value, bool):
                return value
            problems.append((f"{p}/{GROUNDED_EXTENSION}",
                             f"{GROUNDED_EXTENSION} must be true or false, not {value!r}"))
    return None


_EXPR = re.compile(r"^\{?\s*(\$[^}]*?)\s*\}?$")


def _link_field(expr: str) -> tuple[str, bool]:
    """Runtime expression → (generic body field path, readable)."""
    m = _EXPR.match(expr.strip())
    if not m:
        return "", False
    e = m.group(1)
    if e.startswith("$response.body"):
        rest = e[len("$response.body"):]
        if rest in ("", "#", "#/"):
            return "", True
        if not rest.startswith("#/"):
            return "", False
        parts = [t.replace("~1", "/").replace("~0", "~") for t in rest[2:].split("/")]
        out = ""
        for t in parts:
            if t.isdigit() or t == "-":
                out += "[]"
            else:
                out += f".{t}" if out else t
        return out, True
    if re.match(r"^\$(request\.(path|query|header|body|cookie)|response\.header)\b", e) \
            or e in ("$url", "$method", "$statusCode"):
        return "", True
    return "", False


def read_spec_grounding(document: Mapping[str, Any] | str | Path, *, strict: bool = False,
                        source: str | None = None) -> SpecGrounding:
    """Links and ``x-agentrt-grounded`` marks of one raw OpenAPI document (a dict, or a path
    or URL read like :func:`agentrt.openapi.load_spec` reads it).

    Bad links and bad extension values become warnings (``strict``: a ``SpecError`` with the
    JSON pointer of the first one).
    """
    if isinstance(document, Mapping):
        raw, name = document, source or "<dict>"
    else:
        from agentrt.openapi.source import read_source

        raw, _, name = read_source(document)
        name = source or name
    doc = _Doc(raw)
    problems: list[tuple[str, str]] = []
    ops = list(_operations(doc))
    ids: dict[str, str] = {}
    targets: dict[str, tuple[set[Target], set[str] | None]] = {}
    marks: dict[str, dict[Target, bool]] = {}
    for ptr, op, shared in ops:
        if isinstance(op.get("operationId"), str):
            ids.setdefault(op["operationId"], ptr)
        params = _params_of(doc, op, shared, ptr)
        found: set[Target] = {(str(p.get("in")), p["name"]) for p, _ in params}
        op_marks: dict[Target, bool] = {}
        for p, pptr in params:
            mark = p.get(GROUNDED_EXTENSION)
            if mark is not None and not isinstance(mark, bool):
                problems.append((f"{pptr}/{GROUNDED_EXTENSION}",
                                 f"{GROUNDED_EXTENSION} must be true or false, not {mark!r}"))
                mark = None
            if mark is None and "schema" in p:
                mark = _mark_of(doc, p["schema"], f"{pptr}/schema", problems)
            if isinstance(mark, bool):
                op_marks[(str(p.get("in")), p["name"])] = mark
        body, bptr = _body_schema(doc, op, ptr)
        body_names: set[str] | None = None
        if body is not None:
            body_names = _body_marks(doc, body, bptr, "", op_marks, problems)
            node, _, _ = doc.deref(body, bptr)
            if not isinstance(node, Mapping) or not isinstance(node.get("properties"), Mapping) \
                    or any(k in node for k in ("allOf", "anyOf", "oneOf")) \
                    or node.get("additionalProperties", False) not in (False, None):
                body_names = None  # cannot tell every property: never warn about body names
        listed = op.get(GROUNDED_EXTENSION)
        if listed is not None:
            if isinstance(listed, list) and all(isinstance(x, str) for x in listed):
                for arg in listed:
                    op_marks.setdefault(("", arg), True)
            else:
                problems.append((f"{ptr}/{GROUNDED_EXTENSION}",
                                 f"{GROUNDED_EXTENSION} on an operation must be a list of "
                                 f"argument names, not {listed!r}"))
        if op_marks:
            marks[ptr] = op_marks
        targets[ptr] = (found, body_names)
    links: dict[str, dict[Target, list[LinkSource]]] = {}
    for ptr, op, _ in ops:
        responses = op.get("responses")
        if not isinstance(responses, Mapping):
            continue
        from_op = op["operationId"] if isinstance(op.get("operationId"), str) else ptr
        for status, resp in responses.items():
            rptr = f"{ptr}/responses/{escape_pointer_token(str(status))}"
            resp, _, _ = doc.deref(resp, rptr)
            if not isinstance(resp, Mapping) or not isinstance(resp.get("links"), Mapping):
                continue
            for lname, link in resp["links"].items():
                lptr = f"{rptr}/links/{escape_pointer_token(str(lname))}"
                link, _, _ = doc.deref(link, lptr)
                if not isinstance(link, Mapping):
                    continue
                _read_link(str(lname), link, lptr, str(status), from_op, ids, targets, links,
                           problems)
    warnings = tuple(SpecWarning(pointer=p, reason=r) for p, r in problems)
    if strict and warnings:
        raise SpecError(warnings[0].reason, source=name, pointer=warnings[0].pointer)
    info: Mapping[str, Any] = raw["info"] if isinstance(raw.get("info"), Mapping) else {}
    return SpecGrounding(
        source=name, operation_ids=ids, marks=marks, warnings=warnings,
        operations=frozenset(p for p, _, _ in ops), title=str(info.get("title") or ""),
        links={k: {t: tuple(v) for t, v in m.items()} for k, m in links.items()})


def _read_link(lname: str, link: Mapping[str, Any], lptr: str, status: str, from_op: str,
               ids: Mapping[str, str], targets: Mapping[str, tuple[set[Target], set[str] | None]],
               links: dict[str, dict[Target, list[LinkSource]]],
               problems: list[tuple[str, str]]) -> None:
    if isinstance(link.get("operationId"), str):
        target = ids.get(link["operationId"])
        if target is None:
            problems.append((f"{lptr}/operationId", f"link {lname!r} names the unknown "
                             f"operation {link['operationId']!r}"))
            return
    elif isinstance(link.get("operationRef"), str):
        target = link["operationRef"]
        if target not in targets:
            problems.append((f"{lptr}/operationRef", f"link {lname!r} names the unknown "
                             f"operation {target!r} (only local references are followed)"))
            return
    else:
        problems.append((lptr, f"link {lname!r} needs an operationId or an operationRef"))
        return
    params, body_names = targets[target]
    description = str(link.get("description") or "").strip()
    entries: list[tuple[Target, Any, str]] = []
    raw_params = link.get("parameters")
    if isinstance(raw_params, Mapping):
        for pname, expr in raw_params.items():
            pname = str(pname)
            loc, _, wire = pname.partition(".") if "." in pname and pname.split(".", 1)[0] in (
                "path", "query", "header", "cookie") else ("", "", pname)
            known = any(w == wire and (not loc or loc == lc) for lc, w in params)
            pptr = f"{lptr}/parameters/{escape_pointer_token(pname)}"
            if not known:
                problems.append((pptr, f"link {lname!r}: operation {target} has no parameter "
                                 f"{pname!r}"))
                continue
            entries.append(((loc, wire), expr, pptr))
    body = link.get("requestBody")
    if isinstance(body, Mapping):
        for prop, expr in body.items():
            pptr = f"{lptr}/requestBody/{escape_pointer_token(str(prop))}"
            if body_names is not None and str(prop) not in body_names:
                problems.append((pptr, f"link {lname!r}: the request body of {target} has no "
                                 f"property {prop!r}"))
                continue
            entries.append((("body", str(prop)), expr, pptr))
    elif isinstance(body, str):
        entries.append((("body", ""), body, f"{lptr}/requestBody"))
    for tgt, expr, pptr in entries:
        if not isinstance(expr, str) or not expr.strip().lstrip("{").startswith("$"):
            continue  # a constant: nothing to ground
        fld, ok = _link_field(expr)
        if not ok:
            problems.append((pptr, f"link {lname!r}: cannot read the runtime expression "
                             f"{expr!r}"))
            continue
        links.setdefault(target, {}).setdefault(tgt, []).append(LinkSource(
            operation=from_op, status=status, field=fld, expression=expr, link=lname,
            pointer=pptr, description=description))


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
                rules[arg] = replace(rule, producers=tuple(chosen))

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
