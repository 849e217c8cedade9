"""Grounding stage: what a raw OpenAPI document says about grounding — its ``links`` and its
``x-agentrt-grounded`` marks (:func:`read_spec_grounding` → :class:`SpecGrounding`).

These are the first two rules of :mod:`agentrt.grounding.identifiers`, which decides which
tool arguments must be grounded; where the spec says nothing, its inference applies.

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
   operation; ``false`` opts an argument out of the inference. Any other value is a spec
   warning.

Local ``$ref`` chains are followed (by :mod:`referencing`); a value given by a constant in a
link needs no grounding and is skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import referencing
import referencing.exceptions
from referencing.jsonschema import DRAFT202012

from agentrt.errors import SpecError
from agentrt.openapi import SpecWarning
from agentrt.openapi.model import HTTP_METHODS
from agentrt.openapi.schema import escape_pointer_token

__all__ = [
    "GROUNDED_EXTENSION",
    "LinkSource",
    "SpecGrounding",
    "Target",
    "read_spec_grounding",
]

#: the `x-` extension that marks (true) or unmarks (false) an argument as grounded
GROUNDED_EXTENSION = "x-agentrt-grounded"

#: (location or "" when the link does not say, wire name / body property path)
Target = tuple[str, str]

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
