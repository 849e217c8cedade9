"""Grounding stage, argument roles: which strings of a result are free text written by third
parties, and what role each argument of a call plays — the two judgements the trust ledger
(:mod:`agentrt.grounding.trust`) is built on.

A string of a result is free text (:func:`is_free_text`) when a property on its path is marked
``x-agentrt-free-text: true`` in the response schema (``false`` opts a field out), else when
the last word of a key on its path names prose (``description``, ``review(s)``, ``note(s)``,
``comment(s)``, ``message``, ``text``, ``body``, ``summary``, ``content``, ``remarks``,
``instructions``, ``feedback``, ``bio``, ``about``, ``details``, ``subject``), else when it is
prose itself (eight words or more). A value found only in free text is *untrusted* even when it
looks like an id.

Arguments have a role (:func:`argument_role`):

- ``consequential`` — who or what a side effect reaches: e-mail addresses and other contacts
  (``format: email``, names with ``email``, ``recipient``, ``to``/``cc``/``bcc``, ``phone``),
  names of people (``first_name``, ``last_name``, ``full_name``, or ``name`` inside a
  ``guest``/``passenger``/``contact``/``recipient``/``customer``/… object), personal data
  (``birth``, ``passport``), money (``amount``, ``price``, ``total``, ``payment``, ``fee``,
  ``refund``…), accounts (``account``, ``iban``, ``card``, ``payee``, ``beneficiary``…), postal
  addresses, and free text sent on (``message``, ``body``, ``note``, ``comment``, ``subject``…).
  A spec decides instead with ``x-agentrt-consequential: true|false`` on the property.
- ``reference`` — identifier-like arguments (:mod:`agentrt.grounding.identifiers`: links,
  ``x-agentrt-grounded``, inference): booking references, offer and room ids.
- ``other`` — dates, counts, enums, …

Both extensions are read from the tool's operation in the spec document (:func:`_marks`).
"""

from __future__ import annotations

import functools
import re
import threading
import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from agentrt.grounding.links import _Doc
from agentrt.grounding.provenance import generic_path
from agentrt.toolset import Toolset
from agentrt.toolset.tool import Tool

__all__ = ["CONSEQUENTIAL_EXTENSION", "CONTACT_WHY", "FREE_TEXT_EXTENSION", "NAME_WHY", "Role",
           "argument_role", "free_text_leaves", "is_free_text", "leaves", "schema_at", "split_free_text"]

FREE_TEXT_EXTENSION = "x-agentrt-free-text"
CONSEQUENTIAL_EXTENSION = "x-agentrt-consequential"

Role = Literal["consequential", "reference", "other"]

_SPLIT = re.compile(r"[_\-\s.]+|(?<=[a-z0-9])(?=[A-Z])")
_PROSE_KEYS = frozenset((
    "description", "descriptions", "review", "reviews", "note", "notes", "comment", "comments",
    "message", "messages", "text", "body", "summary", "content", "remark", "remarks",
    "instructions", "feedback", "bio", "about", "details", "subject", "blurb"))
_PROSE_WORDS = 8
_CONTACT = frozenset(("email", "emails", "mail", "recipient", "recipients", "to", "cc", "bcc",
                      "phone", "mobile", "fax", "telephone"))
_MONEY = frozenset(("amount", "price", "total", "payment", "pay", "fare", "cost", "fee", "tip",
                    "refund", "transfer", "charge", "deposit", "sum", "value"))
_ACCOUNT = frozenset(("account", "iban", "bic", "swift", "card", "wallet", "payee",
                      "beneficiary", "routing"))
_PERSONAL = frozenset(("birth", "dob", "passport", "ssn", "nationality"))
_NAME_PARTS = frozenset(("first", "last", "given", "family", "surname", "full", "middle"))
_PEOPLE = frozenset(("guest", "guests", "passenger", "passengers", "traveller", "travellers",
                     "traveler", "travelers", "contact", "recipient", "recipients", "person",
                     "people", "customer", "holder", "payee", "beneficiary", "attendee",
                     "attendees", "user", "member", "members", "owner"))
_ADDRESS = frozenset(("address", "street", "postcode", "zip"))
_SENT_TEXT = frozenset(("message", "body", "text", "note", "notes", "comment", "comments",
                        "subject", "content", "description", "instructions", "reply"))
_SENT_WHY = "text sent on to others"
#: the roles of who a side effect reaches (:func:`~agentrt.grounding.check.invented_people`)
CONTACT_WHY = "a contact (who it reaches)"
NAME_WHY = "a person's name"


def _words(name: str) -> list[str]:
    return [w.lower() for w in _SPLIT.split(name) if w]


_PATH_PARTS = re.compile(r"\.|\[\d*\]")


@functools.lru_cache(maxsize=4096)
def _path_keys(path: str) -> tuple[str, ...]:
    """The property names on ``path`` (``hotels[0].reviews[1]`` → hotels, reviews)."""
    return tuple(k for k in _PATH_PARTS.split(path) if k)


@functools.lru_cache(maxsize=4096)
def _prose_path(path: str) -> bool:
    """Whether a property on ``path`` is named like prose (its last word)."""
    return any((words := _words(k)) and words[-1] in _PROSE_KEYS for k in _path_keys(path))


# -- free text in results ---------------------------------------------------------------------
def is_free_text(path: str, value: Any, marks: Mapping[str, bool] | None = None) -> bool:
    """Whether the string ``value`` at ``path`` (``hotels[0].reviews[1]``) of a result is text
    written by someone else (see the module docstring); ``marks``: property name → the
    response schema's ``x-agentrt-free-text``."""
    if not isinstance(value, str):
        return False
    if marks:
        for key in reversed(_path_keys(path)):
            if key in marks:
                return marks[key]
    if _prose_path(path):
        return True
    return len(value.split()) >= _PROSE_WORDS


def _split(body: Any, path: str, marks: Mapping[str, bool] | None, depth: int = 0
           ) -> tuple[Any, Any]:
    if depth > 32:
        return None, None
    if isinstance(body, Mapping):
        s: dict[str, Any] = {}
        f: dict[str, Any] = {}
        for k, v in body.items():
            sub = f"{path}.{k}" if path else str(k)
            sv, fv = _split(v, sub, marks, depth + 1)
            if sv is not None:
                s[k] = sv
            if fv is not None:
                f[k] = fv
        return s, (f or None)
    if isinstance(body, (list, tuple)):
        parts = [_split(v, f"{path}[{i}]", marks, depth + 1) for i, v in enumerate(body)]
        free = [fv for _, fv in parts]
        return [sv for sv, _ in parts], (free if any(x is not None for x in free) else None)
    if is_free_text(path, body, marks):
        return None, body
    return body, None


def split_free_text(body: Any, marks: Mapping[str, bool] | None = None) -> tuple[Any, Any]:
    """``body`` as (structured part, free-text part): the same shape, each leaf in exactly one
    of them (``None`` where it went to the other; list positions are kept, so paths agree)."""
    return _split(body, "", marks)


def leaves(value: Any, *, max_depth: int = 16) -> Iterator[tuple[str, Any]]:
    """(path, value) of every non-null scalar of ``value`` (``a.b[0].c`` paths), down to
    ``max_depth`` levels."""
    def walk(node: Any, path: str, depth: int) -> Iterator[tuple[str, Any]]:
        if depth > max_depth:
            return
        if isinstance(node, Mapping):
            for k, v in node.items():
                yield from walk(v, f"{path}.{k}" if path else str(k), depth + 1)
        elif isinstance(node, (list, tuple)):
            for i, v in enumerate(node):
                yield from walk(v, f"{path}[{i}]", depth + 1)
        elif node is not None:
            yield path, node

    yield from walk(value, "", 0)


def free_text_leaves(body: Any, marks: Mapping[str, bool] | None = None
                     ) -> Iterator[tuple[str, str]]:
    """(path, text) of every free-text string of ``body``."""
    for path, value in leaves(body, max_depth=32):
        if isinstance(value, str) and is_free_text(path, value, marks):
            yield path, value


# -- the spec's extensions ----------------------------------------------------------------------
def _operation(toolset: Toolset, tool: Tool) -> tuple[_Doc, Mapping[str, Any]] | None:
    if not tool.pointer.startswith("#/paths/"):
        return None
    parts = [p.replace("~1", "/").replace("~0", "~") for p in tool.pointer[2:].split("/")]
    for spec in toolset.specs:
        doc = getattr(spec, "document", None)
        if not isinstance(doc, Mapping):
            continue
        node: Any = doc
        for part in parts:
            node = node.get(part) if isinstance(node, Mapping) else None
        if isinstance(node, Mapping) and node.get("operationId", tool.operation_id) \
                == tool.operation_id:
            return _Doc(doc), node
    return None


def _collect(doc: _Doc, node: Any, key: str, out: dict[str, bool], name: str = "",
             depth: int = 0) -> None:
    """``key`` extension values found on properties below ``node`` (property name → bool)."""
    if depth > 24:
        return
    if isinstance(node, Mapping) and isinstance(node.get(key), bool) and name:
        out.setdefault(name, node[key])
    target, _, passed = doc.deref(node, "#")
    for where in passed:
        if isinstance(where.get(key), bool) and name:
            out.setdefault(name, where[key])
    if not isinstance(target, Mapping):
        return
    if isinstance(target.get(key), bool) and name:
        out.setdefault(name, target[key])
    for sub_key in ("allOf", "anyOf", "oneOf"):
        for sub in target.get(sub_key) or ():
            _collect(doc, sub, key, out, name, depth + 1)
    props = target.get("properties")
    if isinstance(props, Mapping):
        for pname, sub in props.items():
            _collect(doc, sub, key, out, str(pname), depth + 1)
    for sub_key in ("items", "schema", "additionalProperties"):
        if isinstance(target.get(sub_key), Mapping):
            _collect(doc, target[sub_key], key, out, name, depth + 1)
    content = target.get("content")
    if isinstance(content, Mapping):
        for media in content.values():
            _collect(doc, media, key, out, name, depth + 1)


@dataclass(frozen=True, slots=True, kw_only=True)
class _ToolMarks:
    consequential: Mapping[str, bool]
    free_text: Mapping[str, bool]


#: per toolset, the marks of each tool read from its spec (a toolset and its documents do not
#: change, so every run and every ledger over one toolset shares them); dropped with the toolset
_MARKS: weakref.WeakKeyDictionary[Toolset, dict[str, tuple[Tool, _ToolMarks]]] = \
    weakref.WeakKeyDictionary()
_MARKS_LOCK = threading.Lock()


def tool_marks(toolset: Toolset, tool: Tool) -> _ToolMarks:
    """:func:`_marks` of ``tool`` in ``toolset``, read from the spec once per toolset."""
    per_tool = _MARKS.get(toolset)
    entry = per_tool.get(tool.name) if per_tool is not None else None
    if entry is not None and entry[0] is tool:
        return entry[1]
    marks = _marks(toolset, tool)
    with _MARKS_LOCK:
        _MARKS.setdefault(toolset, {})[tool.name] = (tool, marks)
    return marks


def _marks(toolset: Toolset, tool: Tool) -> _ToolMarks:
    found = _operation(toolset, tool)
    if found is None:
        return _ToolMarks(consequential={}, free_text={})
    doc, op = found
    cons: dict[str, bool] = {}
    for param in op.get("parameters") or ():
        target, _, _ = doc.deref(param, "#")
        if isinstance(target, Mapping) and isinstance(target.get("name"), str):
            if isinstance(target.get(CONSEQUENTIAL_EXTENSION), bool):
                cons[target["name"]] = target[CONSEQUENTIAL_EXTENSION]
            _collect(doc, target.get("schema"), CONSEQUENTIAL_EXTENSION, cons, target["name"])
    _collect(doc, op.get("requestBody"), CONSEQUENTIAL_EXTENSION, cons)
    free: dict[str, bool] = {}
    for resp in (op.get("responses") or {}).values():
        _collect(doc, resp, FREE_TEXT_EXTENSION, free)
    return _ToolMarks(consequential=cons, free_text=free)


def schema_at(root: Mapping[str, Any], path: str) -> Mapping[str, Any]:
    """The JSON Schema at an argument's path (``passengers[0].email``) in ``root``; ``{}``
    where the schema says nothing."""
    node: Any = root
    for part in re.findall(r"[^.\[\]]+|\[\d*\]", path):
        if not isinstance(node, Mapping):
            return {}
        if part.startswith("["):
            node = node.get("items")
        else:
            props = node.get("properties")
            node = props.get(part) if isinstance(props, Mapping) else None
    return node if isinstance(node, Mapping) else {}


# -- roles of arguments -------------------------------------------------------------------------
def argument_role(path: str, value: Any, schema: Mapping[str, Any] | None = None, *,
                  references: frozenset[str] = frozenset(),
                  marks: Mapping[str, bool] | None = None) -> tuple[Role, str]:
    """(role, why) of the argument at ``path`` (``guest.email``, ``passengers[0].last_name``)
    with ``schema`` (its JSON Schema); ``references``: the tool's identifier-like argument
    paths (generic: ``passengers[].id``); ``marks``: ``x-agentrt-consequential`` by name."""
    keys = list(_path_keys(path))
    leaf = keys[-1] if keys else path
    schema = schema or {}
    if marks:
        for key in reversed(keys):
            if key in marks:
                if marks[key]:
                    return "consequential", f"{CONSEQUENTIAL_EXTENSION} on {key!r}"
                break
        else:
            key = ""
        if key and not marks[key]:
            return ("reference", "an identifier") if generic_path(path) in references \
                else ("other", f"{CONSEQUENTIAL_EXTENSION}: false")
    if generic_path(path) in references:
        return "reference", "an identifier"
    words = _words(leaf)
    parents = {w for k in keys[:-1] for w in _words(k)}
    fmt = schema.get("format")
    if fmt in ("email", "idn-email") or set(words) & _CONTACT - {"to"} \
            or words in (["to"], ["cc"], ["bcc"]):
        return "consequential", CONTACT_WHY
    if set(words) & _PERSONAL:
        return "consequential", "personal data"
    if (set(words) & _NAME_PARTS and "name" in words) or (words == ["name"] and parents & _PEOPLE):
        return "consequential", NAME_WHY
    if set(words) & _ACCOUNT:
        return "consequential", "an account"
    if set(words) & _MONEY and not isinstance(value, bool) \
            and (isinstance(value, (int, float)) or schema.get("type") in ("number", "integer")
                 or (isinstance(value, str) and any(c.isdigit() for c in value))):
        return "consequential", "an amount of money"
    if set(words) & _ADDRESS and fmt not in ("uri", "url", "ipv4", "ipv6", "hostname"):
        return "consequential", "an address"
    if words and words[-1] in _SENT_TEXT and isinstance(value, str):
        return "consequential", _SENT_WHY
    return "other", ""
