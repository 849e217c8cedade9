"""Grounding: an answer that grants a condition of the request which the results deny.

Asked for "the cheapest business class seat", a small model searches without the cabin, reads
economy offers, and answers "the cheapest business class flight is LH582 for 760.99 EUR" —
every fact in it grounded, the answer still wrong. The response schemas say which words are
categories: a field with an ``enum`` (``cabin``: economy, premium_economy, business, first;
``status``: confirmed, cancelled). :func:`unmet` finds a category value that the request names
and the answer repeats while the results on the path hold that field only with other values
(``cabin`` is ``economy`` in every offer read): the answer grants what no result showed.

The same holds before a change is made (:func:`unmet_item`): a booking whose offer the path
shows with ``cabin`` economy, for a request that asks for business, is refused before it is
sent, with what the request asks for.

Conservative, as every answer rule: only values the request itself names, only fields the path
has values for, never in an answer with a negation (``no business seats``, ``not
cancelled``), longer values first (``premium economy`` is not ``economy``), and never values
that are ordinary words as well (``first``: "the first flight" names no cabin).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from agentrt.grounding.check import deref_defs
from agentrt.grounding.provenance import Provenance, Source

__all__ = ["Unmet", "response_enums", "unmet", "unmet_item"]

_NEGATION = re.compile(r"\b(?:no|not|none|never|without|cannot|nothing|neither|nor)\b|n't\b",
                       re.IGNORECASE)
_MAX_DEPTH = 24
#: enum values that are ordinary words too: a request or answer writing one names no category
_ORDINARY = frozenset({
    "first", "last", "next", "new", "old", "open", "other", "none", "all", "any", "default",
    "standard", "normal", "regular", "basic", "low", "high", "medium", "small", "large",
    "single", "double", "one", "two", "yes", "no", "true", "false", "active", "available",
    "ok", "good", "best", "free", "full", "public", "private", "direct", "main"})


@dataclass(frozen=True, slots=True)
class Unmet:
    """``value`` of ``field`` is granted by the answer; the results hold ``seen`` only."""

    field: str
    value: str
    seen: tuple[str, ...]


def response_enums(schemas: Iterable[Mapping[str, Any] | None]) -> dict[str, frozenset[str]]:
    """Field name → its string ``enum`` values, over the response schemas given (their
    ``$ref``s into ``$defs`` followed, as the toolset carries them)."""
    out: dict[str, set[str]] = {}
    for schema in schemas:
        if isinstance(schema, Mapping):
            _walk(schema, schema, "", out, 0, set())
    return {name: frozenset(values) for name, values in out.items() if len(values) > 1}


def _walk(node: Mapping[str, Any], root: Mapping[str, Any], name: str,
          out: dict[str, set[str]], depth: int, refs: set[str]) -> None:
    if depth > _MAX_DEPTH:
        return
    ref = node.get("$ref")
    if isinstance(ref, str) and ref not in refs:
        target = deref_defs(root, node)
        if isinstance(target, Mapping) and target is not node:
            _walk(target, root, name, out, depth + 1, refs | {ref})
    enum = node.get("enum")
    if name and isinstance(enum, list):
        values = {v for v in enum if isinstance(v, str) and v}
        if values:
            out.setdefault(name, set()).update(values)
    for key, sub in (node.get("properties") or {}).items():
        if isinstance(sub, Mapping):
            _walk(sub, root, str(key), out, depth + 1, refs)
    for key in ("items", "additionalProperties"):
        sub = node.get(key)
        if isinstance(sub, Mapping):
            _walk(sub, root, name, out, depth + 1, refs)
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in node.get(key) or ():
            if isinstance(sub, Mapping):
                _walk(sub, root, name, out, depth + 1, refs)


def _pattern(value: str) -> re.Pattern[str]:
    words = [re.escape(w) for w in re.split(r"[_\s-]+", value) if w]
    return re.compile(r"(?<![\w-])" + r"[_\s-]+".join(words) + r"(?![\w-])", re.IGNORECASE)


@functools.lru_cache(maxsize=1024)
def _named(text: str, values: frozenset[str]) -> frozenset[str]:
    """The values ``text`` names, longer ones first (their words not counted again); ordinary
    words never count. Remembered: a run asks it of its request at every answer and change."""
    found: set[str] = set()
    for value in sorted(values, key=len, reverse=True):
        pattern = _pattern(value)
        if pattern.search(text):
            if value.casefold() not in _ORDINARY:
                found.add(value)
            text = pattern.sub(" ", text)
    return frozenset(found)


def _item(ledger: Provenance, src: Source) -> dict[str, Any]:
    """The scalar fields of the object ``src`` points into (``offers[1].offer_id`` → the
    fields of ``offers[1]``)."""
    path = src.path or ""
    parent = path.rsplit(".", 1)[0] if "." in path else ""
    out: dict[str, Any] = {}
    for leaf in ledger.leaves():
        lp = leaf.source.path or ""
        if leaf.source.node == src.node and leaf.source.tool == src.tool \
                and (lp.rsplit(".", 1)[0] if "." in lp else "") == parent:
            out.setdefault(leaf.name, leaf.value)
    return out


def unmet_item(values: Iterable[Any], request: str, ledger: Provenance,
               enums: Mapping[str, frozenset[str]]) -> tuple[Any, Unmet] | None:
    """The first of ``values`` (a change's identifier arguments) whose item on the path (the
    result object it was read from) holds a category field with a value other than the one
    the request names: ``(value, what)``; None when each fits or nothing can be told."""
    if not enums:
        return None
    asked = {field: named for field, vals in enums.items() if (named := _named(request, vals))}
    if not asked:
        return None
    for value in values:
        src = next((s for s in ledger.sources(value) if s.kind == "observation"), None)
        if src is None:
            continue
        item = _item(ledger, src)
        for field, named in asked.items():
            have = item.get(field)
            if isinstance(have, str) and have.casefold() not in {n.casefold() for n in named}:
                return value, Unmet(field=field, value=sorted(named)[0], seen=(have,))
    return None


def unmet(answer: str, request: str, ledger: Provenance,
          enums: Mapping[str, frozenset[str]]) -> Unmet | None:
    """The first category value the request names and ``answer`` grants while every value the
    path holds for its field is another one; None when there is none (or the answer negates)."""
    if not enums or _NEGATION.search(answer):
        return None
    for field, values in enums.items():
        asked = _named(request, values)
        if not asked:
            continue
        granted = asked & _named(answer, values)
        if not granted:
            continue
        seen = {str(v.value).casefold() for v in ledger.field_values(field)
                if isinstance(v.value, str)}
        if not seen:
            continue
        for value in sorted(granted):
            if value.casefold() not in seen:
                return Unmet(field=field, value=value, seen=tuple(sorted(seen)))
    return None
