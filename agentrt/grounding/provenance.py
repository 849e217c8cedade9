"""Grounding stage: the provenance of values — where a value on a search path came from.

A :class:`Provenance` (alias :data:`ValueLedger`) is built from the user's request and the
observations on one path of the search (each: the tool name, the node id, the parsed JSON body
of a *successful* response — error bodies quote the bad value back and must not ground it).
For any scalar it answers where it came from::

    ledger = Provenance.from_request("Book the cheapest LIS-MAD flight on 2026-12-16 ...")
    ledger = ledger.with_observation("search_flight_offers", body, node=3)
    ledger.source("TP1234-20261216-Y")
    # Source(kind="observation", node=3, tool="search_flight_offers", path="offers[0].offer_id")
    ledger.source("LIS")        # Source(kind="request")
    ledger.source("K7QX2M")     # None: made up

Rules (the keys are defined in :mod:`agentrt.grounding.values`):

- a value matches an observation when one of its keys equals a key of an observed scalar: the
  whole string case-insensitively and whitespace-collapsed, the same number (``"412.50"`` =
  ``412.5`` = ``"€412.50"``), the same ISO date or ``HH:MM`` time (also inside an ISO
  date-time), or — for a value that is one word — a word or ``-``/``_`` part of an observed
  string (``K7QX2M`` inside ``"booking K7QX2M confirmed"``);
- a value matches the request when it is one of the request's words or parts, a date, time or
  amount written in it, a number in it, or (several words) a phrase of it;
- object keys that contain a digit are indexed like values (bodies keyed by id);
- the arguments the model sent are never a source: an invented id would ground itself.

``source`` prefers the request, then the earliest observation; ``sources`` lists them all (at
most :data:`MAX_SOURCES` per key) — the side-effect policy reads the same answers.

Cost: the index is built once per path. :meth:`Provenance.with_observation` returns a new
ledger for the child path (the parent stays valid for its siblings): it indexes only the new
body and shallow-copies the parent's dictionaries (C speed); every lookup is a few dictionary
probes.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from agentrt.grounding.values import (
    Fact,
    Key,
    lookup_keys,
    number_key,
    scalar_keys,
    string_keys,
)

__all__ = ["MAX_SOURCES", "FieldValue", "Leaf", "Provenance", "Source", "ValueLedger",
           "money_name"]

#: sources kept per key (the earliest win; later repeats add nothing a caller needs)
MAX_SOURCES = 8
#: values kept per field name (for the candidate lists shown to the model)
MAX_FIELD_VALUES = 500
_MAX_DEPTH = 32
_MAX_LEAVES = 50_000
_MAX_FACTOR = 9

_WORD = re.compile(r"[A-Za-z0-9]+")
_DECIMAL = re.compile(r"(?<![\w.,])\d+(?:[.,]\d+)?(?![\w])")

SourceKind = Literal["request", "observation"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Source:
    """Where a value came from: the request, or one field of one observation."""

    kind: SourceKind
    node: int | None = None
    tool: str | None = None
    #: JSON path into the body without the leading ``$``: ``offers[0].offer_id``
    path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": self.kind}
        if self.kind == "observation":
            d.update(node=self.node, tool=self.tool, path=self.path)
        return d

    def __str__(self) -> str:
        if self.kind == "request":
            return "the request"
        where = f" (node {self.node})" if self.node is not None else ""
        return f"{self.tool}{where} {self.path}"


_REQUEST = Source(kind="request")


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldValue:
    """One observed value of a named field, with its source."""

    value: Any
    source: Source


@dataclass(frozen=True, slots=True, kw_only=True)
class Leaf:
    """One scalar of one observed body."""

    name: str
    value: Any
    source: Source


def generic_path(path: str) -> str:
    """``offers[0].segments[1].flight_number`` → ``offers[].segments[].flight_number``."""
    out, i = [], 0
    while i < len(path):
        c = path[i]
        if c == "[":
            j = path.find("]", i)
            out.append("[]")
            i = j + 1 if j >= 0 else len(path)
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _walk(body: Any, path: str = "", name: str = "",
          depth: int = 0) -> Iterator[tuple[str, str, Any]]:
    """(leaf name, path, scalar) for every scalar in ``body``; id-like object keys come with
    an empty name (they are values, not fields)."""
    if depth > _MAX_DEPTH:
        return
    if isinstance(body, Mapping):
        for k, v in body.items():
            key = str(k)
            sub = f"{path}.{key}" if path else key
            if _has_digit(key):
                yield "", sub, key
            yield from _walk(v, sub, key, depth + 1)
    elif isinstance(body, (list, tuple)):
        for i, v in enumerate(body):
            yield from _walk(v, f"{path}[{i}]", name, depth + 1)
    elif body is not None:
        yield name, path, body


def _request_keys(text: str) -> set[Key]:
    keys = set(string_keys(text))
    keys.discard(("text", ""))
    for m in _DECIMAL.finditer(text):  # bare numbers too: "2 guests", "rated 4.0"
        keys.add(number_key(Decimal(m.group(0).replace(",", "."))))
    return keys


class Provenance:
    """Where values on one search path came from (immutable; extend with
    :meth:`with_observation`)."""

    __slots__ = ("_fields", "_index", "_leaves", "_nums", "_phrase", "_pos", "_request_keys",
                 "observations", "request")

    def __init__(self, request: str = "") -> None:
        self.request = request
        self._request_keys: frozenset[Key] = frozenset(_request_keys(request)) if request \
            else frozenset()
        self._phrase = " " + " ".join(m for m in _ordered_words(request)) + " "
        self._index: dict[Key, tuple[Source, ...]] = {}
        self._fields: dict[str, tuple[FieldValue, ...]] = {}
        self._leaves: tuple[Leaf, ...] = ()
        #: observed money-like numbers: the operands of derived amounts
        self._nums: frozenset[Decimal] = frozenset()
        #: (tool, node) of every observation on the path, in order
        self.observations: tuple[tuple[str, int | None], ...] = ()
        self._pos: dict[tuple[str | None, int | None], int] = {}

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def from_request(cls, text: str) -> Provenance:
        """The ledger of ``text`` alone; immutable, so one run's grounding and its trust
        ledger (and runs of the same request) share it: the request is read once."""
        return _of_request(text) if cls is Provenance else cls(text)

    @classmethod
    def build(cls, request: str,
              observations: Iterable[tuple[str, int | None, Any]] = ()) -> Provenance:
        """A ledger for a whole path: ``observations`` are ``(tool, node, body)`` in order."""
        ledger = cls(request)
        for tool, node, body in observations:
            ledger = ledger.with_observation(tool, body, node=node)
        return ledger

    def with_observation(self, tool: str, body: Any, *, node: int | None = None) -> Provenance:
        """A new ledger: this path plus one successful observation (``self`` is unchanged)."""
        new = object.__new__(Provenance)
        new.request, new._request_keys, new._phrase = self.request, self._request_keys, \
            self._phrase
        index = dict(self._index)
        fields = dict(self._fields)
        leaves: list[Leaf] = []
        nums: set[Decimal] = set()
        for n, (name, path, value) in enumerate(_walk(body)):
            if n >= _MAX_LEAVES:
                break
            src = Source(kind="observation", node=node, tool=tool, path=path)
            leaves.append(Leaf(name=name, value=value, source=src))
            money = _is_money(name, value)
            for key in scalar_keys(value):
                have = index.get(key, ())
                if len(have) < MAX_SOURCES:
                    index[key] = (*have, src)
                if money and key[0] == "num":
                    nums.add(Decimal(key[1]))
            if name:
                have_f = fields.get(name, ())
                if len(have_f) < MAX_FIELD_VALUES:
                    fields[name] = (*have_f, FieldValue(value=value, source=src))
        new._index, new._fields = index, fields
        new._leaves = (*self._leaves, *leaves)
        new._nums = self._nums | nums if nums else self._nums
        new.observations = (*self.observations, (tool, node))
        new._pos = self._pos if (tool, node) in self._pos else {
            **self._pos, (tool, node): len(self.observations)}
        return new

    # -- lookups --------------------------------------------------------------------------
    def sources(self, value: Any) -> tuple[Source, ...]:
        """Every source of ``value``: the request first, then observations in path order."""
        keys = lookup_keys(value)
        seen: dict[Source, None] = {}
        for key in keys:
            for src in self._index.get(key, ()):
                seen.setdefault(src)
        observed = sorted(seen, key=self._order)  # stable: the index keeps path order
        return (_REQUEST, *observed) if self.in_request(value, _keys=keys) else tuple(observed)

    def source(self, value: Any) -> Source | None:
        """Where ``value`` came from (request first, else the earliest observation), or
        ``None`` when it appears nowhere on the path — it was made up."""
        keys = lookup_keys(value)
        if self.in_request(value, _keys=keys):
            return _REQUEST
        best: Source | None = None
        for key in keys:
            found = self._index.get(key)
            if found and (best is None or self._order(found[0]) < self._order(best)):
                best = found[0]
        return best

    def grounded(self, value: Any) -> bool:
        return self.source(value) is not None

    def in_request(self, value: Any, *, _keys: list[Key] | None = None) -> bool:
        """Whether ``value`` is written in the user's request."""
        if not self.request:
            return False
        keys = lookup_keys(value) if _keys is None else _keys
        if any(k in self._request_keys for k in keys):
            return True
        if isinstance(value, str):
            words = list(_ordered_words(value))
            if len(words) > 1:
                return f" {' '.join(words)} " in self._phrase
        return False

    def fact_sources(self, fact: Fact) -> tuple[Source, ...]:
        """Sources of a fact extracted from a text (any of its readings)."""
        out: list[Source] = []
        if any(k in self._request_keys for k in fact.keys):
            out.append(_REQUEST)
        for key in fact.keys:
            for src in self._index.get(key, ()):
                if src not in out:
                    out.append(src)
        return tuple(out)

    def derived_amount(self, fact: Fact) -> bool:
        """Whether an amount is ``k ×`` a seen amount (k = 2…9: per person → total) or the sum
        of two seen amounts (flight + hotel) — arithmetic on grounded values is grounded.
        Seen amounts are observed numbers in money-like fields (price, total, amount, cost,
        fare, rate, fee, …) or strings written as amounts; counts, ids and request numbers
        are not operands."""
        targets = [Decimal(v) for k, v in fact.keys if k == "num"]
        nums = self._nums
        for x in targets:
            for a in nums:
                if a <= 0:
                    continue
                if (x - a) in nums and x - a > 0:
                    return True
                q, r = divmod(x, a)
                if r == 0 and 2 <= q <= _MAX_FACTOR:
                    return True
        return False

    def field_values(self, name: str, *, tool: str | None = None,
                     path: str | None = None) -> tuple[FieldValue, ...]:
        """Observed values of fields called ``name`` (optionally only from ``tool``, and only
        at the generic ``path`` such as ``offers[].offer_id``), in path order."""
        values = self._fields.get(name, ())
        if tool is not None:
            values = tuple(v for v in values if v.source.tool == tool)
        if path is not None:
            values = tuple(v for v in values if generic_path(v.source.path or "") == path)
        return values

    def leaves(self) -> tuple[Leaf, ...]:
        """Every observed scalar on the path, in order."""
        return self._leaves

    def __len__(self) -> int:
        return len(self.observations)

    def __repr__(self) -> str:
        return (f"Provenance({len(self.observations)} observations, {len(self._index)} keys, "
                f"request={self.request[:40]!r})")

    def _order(self, src: Source) -> int:
        if src.kind == "request":
            return -1
        return self._pos.get((src.tool, src.node), len(self.observations))


_MONEY_WORDS = frozenset(("price", "prices", "total", "amount", "cost", "costs", "fare", "fares",
                          "rate", "fee", "fees", "tax", "taxes", "sum", "balance", "subtotal",
                          "charge", "deposit", "refund", "paid"))
_AMOUNT_TEXT = re.compile(r"[€$£¥]|\b[A-Z]{3}\b")


def _is_money(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, str):
        return _has_digit(value) and bool(_AMOUNT_TEXT.search(value))
    return money_name(name)


@functools.lru_cache(maxsize=4096)
def money_name(name: str) -> bool:
    """Whether a field's name says it holds money (price, total_price, nightlyRate, fee …)."""
    words = {w.lower() for w in re.split(r"[_\-\s.]+|(?<=[a-z0-9])(?=[A-Z])", name) if w}
    return bool(words & _MONEY_WORDS)


@functools.lru_cache(maxsize=1 << 14)
def _has_digit(text: str) -> bool:
    return any(c.isdigit() for c in text)


#: The same thing under the name the design uses for it.
ValueLedger = Provenance


def _ordered_words(text: str) -> Iterator[str]:
    for m in _WORD.finditer(text):
        yield m.group(0).casefold()


@functools.lru_cache(maxsize=256)
def _of_request(text: str) -> Provenance:
    return Provenance(text)
