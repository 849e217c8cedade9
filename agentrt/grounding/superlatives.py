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
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from agentrt.grounding.provenance import Provenance, generic_path
from agentrt.grounding.values import extract_facts

__all__ = ["Contradiction", "contradicted"]

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
