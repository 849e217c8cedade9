"""Grounding stage: an answer that calls something the cheapest or the earliest must name the
cheapest or earliest of what it read.

Every fact of such an answer can be grounded and the answer still be wrong: a small model asked
for the cheapest fare searches in departure order and reports the first offer, with its real
price. The results on the path show it: the list the stated price came from holds a lower one.

Rule (general: nothing named for a domain): when the answer says *cheapest* / *lowest price*
/ *least expensive* (or *earliest* / *first flight*), its amounts (or times) are looked up in
the observations on the path; where one was read from a list (``offers[2].price``), the
same field of that list's other items (``offers[].price`` of the same call) is its
competition. When no stated value is the smallest of its list, :func:`contradicted` returns
the smaller value and the item it belongs to. A request may ask for the cheapest *of a kind*
("the cheapest nonstop"), which the list need not show, so the caller (the run's grounding)
refuses such an answer **once** per run, with a note that says both.

The same holds before a change is made (:func:`unchosen`): a small model asked to book the
cheapest fare books the *first* offer of the list it read. When the request asks for the
cheapest (an amount: price, total, rate, fare …), the earliest (a departure or start time),
the best-rated (a rating, stars, score) or the fastest (a duration) — the first of them it
writes whose kind of field the list has — and a change's identifier was read from a list item
(``offers[0].offer_id``, ``hotels[0].cheapest_room.room_id``), the item's fields of that kind
are compared with the same fields of the other items of that list in the same result. When
another item is better on every one of them, :func:`unchosen` returns it (its identifier at
the same place, its label and value): the caller refuses the change **once** per run, before
it is sent — the list holds only what the search returned, and the request may want the
cheapest *of a kind* that the list does not show. (The search refuses the same call proposed
again as a repeat, so the model has to choose another item.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from agentrt.grounding.provenance import Provenance, generic_path, money_name
from agentrt.grounding.values import extract_facts

__all__ = ["Contradiction", "Unchosen", "contradicted", "unchosen"]

_CHEAPEST = re.compile(r"\b(?:cheapest|least expensive|lowest (?:fare|price|rate|total|cost)|"
                       r"best price)\b", re.IGNORECASE)
_EARLIEST = re.compile(r"\b(?:earliest|first (?:flight|departure|one|train|bus))\b",
                       re.IGNORECASE)
#: fields that say which item of a list a row is (for the note)
_LABELS = ("flight_number", "name", "title", "offer_id", "hotel_id", "id", "code")


@dataclass(frozen=True, slots=True)
class Contradiction:
    """The answer's superlative (``word``) and the smaller value its list holds."""

    word: str
    stated: str
    smaller: str
    item: str


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _label(ledger: Provenance, row: str, node: int | None) -> str:
    for name in _LABELS:
        for fv in ledger.field_values(name):
            if fv.source.node == node and (fv.source.path or "") == f"{row}.{name}":
                return f"{name}={fv.value}"
    return row


def _check(kind: str, word: str, answer: str, ledger: Provenance) -> Contradiction | None:
    """``word``'s claim over the answer's facts of ``kind``: None when one of them is the
    smallest of the list it was read from (or none was read from a list)."""
    key = _number if kind == "amount" else str
    found: Contradiction | None = None
    for fact in extract_facts(answer):
        if fact.kind != kind:
            continue
        for src in ledger.fact_sources(fact):
            path = src.path or ""
            if src.kind != "observation" or "[" not in path:
                continue
            field = generic_path(path)
            rows = [fv for fv in ledger.field_values(field.rsplit(".", 1)[-1], tool=src.tool,
                                                       path=field)
                    if fv.source.node == src.node and key(fv.value) is not None]
            mine = next((key(fv.value) for fv in rows if fv.source.path == path), None)
            if mine is None or len(rows) < 2:
                continue
            low = min(rows, key=lambda fv: key(fv.value))  # type: ignore[arg-type,return-value]
            if not key(low.value) < mine:  # type: ignore[operator]
                return None  # a stated value is the smallest of its list
            row = (low.source.path or "").rsplit(".", 1)[0]
            found = found or Contradiction(word=word, stated=fact.text, smaller=str(low.value),
                                           item=_label(ledger, row, low.source.node))
    return found


def contradicted(answer: str, ledger: Provenance) -> Contradiction | None:
    """The contradiction of ``answer``'s cheapest/earliest claim with the lists it read, or
    None (no such claim, no stated value read from a list, or one that is the smallest)."""
    for pattern, kind in ((_CHEAPEST, "amount"), (_EARLIEST, "time")):
        m = pattern.search(answer)
        found = _check(kind, m.group(0), answer, ledger) if m else None
        if found is not None:
            return found
    return None


# -- before a change: the item chosen from a list ------------------------------------------------
_BEST_RATED = re.compile(r"\b(?:best|highest|top)[- ]?(?:rated|rating|reviewed|scored?)\b",
                         re.IGNORECASE)
_FASTEST = re.compile(r"\b(?:fastest|quickest|shortest (?:flight|trip|journey|route|travel))\b",
                      re.IGNORECASE)
_INDEX = re.compile(r"\[(\d+)\]")
_TIME = re.compile(r"(?:^|T)(\d{1,2}):(\d{2})")
_NAME_WORDS = re.compile(r"[_\-\s.]+|(?<=[a-z0-9])(?=[A-Z])")


def _words(name: str) -> set[str]:
    return {w.lower() for w in _NAME_WORDS.split(name) if w}


def _as_amount(name: str, value: Any) -> Decimal | None:
    return _number(value) if money_name(name) else None


_STARTS = frozenset(("departure", "depart", "departs", "start", "starts", "begin", "begins",
                     "time"))
_ENDS = frozenset(("arrival", "arrive", "arrives", "end", "ends", "return", "until"))


def _as_time(name: str, value: Any) -> Decimal | None:
    """A start time (a departure): an arrival or end time says nothing of the earliest."""
    words = _words(name)
    if not isinstance(value, str) or not words & _STARTS or words & _ENDS:
        return None
    m = _TIME.search(value)
    if m is None:
        return None
    # a date before the time orders days too (2027-01-02T06:10 after 2027-01-01T23:00)
    day = value[:m.start()].replace("-", "") if value[m.start():m.start() + 1] == "T" else ""
    return Decimal(f"{day if day.isdigit() else 0}{int(m.group(1)):02d}{m.group(2)}")


def _as_rating(name: str, value: Any) -> Decimal | None:
    if not _words(name) & {"rating", "rated", "stars", "star", "score", "review", "reviews"}:
        return None
    n = _number(value)
    return None if n is None else -n  # the best is the largest: the smallest negated


def _as_duration(name: str, value: Any) -> Decimal | None:
    return _number(value) if _words(name) & {"duration", "minutes", "hours"} else None


#: (what the request writes, its word for the note, how a field's value is read: smaller wins)
_CRITERIA = ((_CHEAPEST, _as_amount), (_EARLIEST, _as_time), (_BEST_RATED, _as_rating),
             (_FASTEST, _as_duration))


@dataclass(frozen=True, slots=True)
class Unchosen:
    """``value`` (a change's identifier) names an item of a list whose ``field`` is
    ``have``; the request asked for the ``word``, and the item ``better`` (its identifier at
    the same place, ``label`` naming it) has ``field`` ``best``."""

    value: Any
    word: str
    field: str
    have: Any
    best: Any
    better: Any
    label: str


def _nouns(text: str, limit: int = 3) -> frozenset[str]:
    """The first ``limit`` words of ``text`` (of 3+ letters, a plural's ``s`` dropped): what
    a superlative is about ("cheapest economy *flight*"), or what a tool and path name."""
    words = [w.lower() for w in re.findall(r"[A-Za-z]{3,}", text)[:limit]]
    return frozenset(w[:-1] if w.endswith("s") and len(w) > 3 else w for w in words)


def _list_items(ledger: Provenance, node: int | None, tool: str | None, prefix: str
                ) -> dict[int, dict[str, Any]]:
    """The items of the list at ``prefix`` (``hotels``) of one result: index → their scalar
    fields outside nested lists, by path relative to the item (``cheapest_room.room_id``)."""
    items: dict[int, dict[str, Any]] = {}
    head = prefix + "["
    for leaf in ledger.leaves():
        src = leaf.source
        path = src.path or ""
        if src.node != node or src.tool != tool or not path.startswith(head):
            continue
        close = path.find("]", len(head))
        rest = path[close + 1:].lstrip(".")
        if close < 0 or not path[len(head):close].isdigit() or "[" in rest or not rest:
            continue
        items.setdefault(int(path[len(head):close]), {}).setdefault(rest, leaf.value)
    return items


def _item_label(item: dict[str, Any]) -> str:
    for name in _LABELS:
        for rel, value in item.items():
            if rel.rsplit(".", 1)[-1] == name and value not in (None, ""):
                return f"{name} {value}"
    return ""


def unchosen(values: Any, request: str, ledger: Provenance) -> Unchosen | None:
    """The first of ``values`` (a change's identifier arguments) read from a list item that
    another item of the same list beats on what the request asks for (see the module
    docstring), or None (no such request, no list, or the item is the best)."""
    wanted = sorted(((m.start(), m.group(0), read, _nouns(request[m.end():]))
                     for pattern, read in _CRITERIA if (m := pattern.search(request))),
                    key=lambda w: w[0])
    if not wanted:
        return None
    for value in values:
        for src in ledger.sources(value):
            if src.kind == "request":
                break  # the user named it: their choice
            path = src.path or ""
            marks = list(_INDEX.finditer(path))
            if not marks:
                continue
            last = marks[-1]
            rel = path[last.end():].lstrip(".")
            if not rel:
                continue
            items = _list_items(ledger, src.node, src.tool, path[:last.start()])
            mine = items.get(int(last.group(1)))
            if mine is None or len(items) < 2:
                continue
            # a superlative whose noun names this list ("the best-rated *hotel*" for a
            # hotel's room) comes before one written earlier for another ("the cheapest
            # *flight*"); otherwise the order they are written in
            here = _nouns(f"{src.tool} {path}", limit=64)
            order = sorted(wanted, key=lambda w: (not w[3] & here, w[0]))
            found = _beaten(value, rel, mine, items, order)
            if found is not None:
                return found
            break  # the item it came from is the best of its list, or nothing tells
    return None


def _beaten(value: Any, rel: str, mine: dict[str, Any], items: dict[int, dict[str, Any]],
            wanted: list[tuple[int, str, Any, frozenset[str]]]) -> Unchosen | None:
    for _, word, read, _ in wanted:  # the first superlative the list has fields for decides
        fields = {f: k for f, v in mine.items() if (k := read(f, v)) is not None}
        if not fields:
            continue
        beaten: list[tuple[str, int]] = []
        for field, have in fields.items():
            low, at = min((k, i) for i, item in items.items()
                          if (k := read(field, item.get(field))) is not None)
            if not low < have:
                return None  # the best on one of its fields: chosen as asked
            beaten.append((field, at))
        field, at = beaten[0]
        other = items[at]
        return Unchosen(value=value, word=word.lower(), field=field.rsplit(".", 1)[-1],
                        have=mine[field], best=other[field], better=other.get(rel),
                        label=_item_label(other))
    return None
