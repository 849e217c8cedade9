"""Demo tasks, generator — the overlap check: a generated task must not be one of the 52
evaluation tasks (``tasks.jsonl``), asserted by :mod:`agentrt_demo.generate` for every task it
generates (:func:`overlap` against an :func:`eval_index`):

* no request equal to an evaluation request once dates, numbers, e-mail addresses, case and
  spacing are normalised (:func:`normalized_request`);
* no (category, routes/cities/codes, day offsets, names) tuple equal to an evaluation task's
  (:func:`signature`); stricter still, no (route or city, day offset) pair and no traveller
  name of an evaluation task is used at all (:data:`EVAL_NAMES` are those travellers).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentrt_demo.tasks import TASKS_FILE

__all__ = ["EVAL_NAMES", "EvalIndex", "OverlapError", "eval_index", "normalized_request",
           "overlap", "signature"]

#: the travellers of the evaluation tasks (never used by the generator)
EVAL_NAMES = ("ana silva", "ben carter", "lea keller", "omar haddad", "piet de vries",
              "yuki tanaka", "joao silva", "sara haddad", "noah haddad", "mia carter")


class OverlapError(AssertionError):
    """A generated task overlaps the evaluation set."""



_DATE = re.compile(r"\{date[+-]\d+\}|\b\d{4}-\d{2}-\d{2}\b", re.IGNORECASE)


def normalized_request(text: str) -> str:
    """A request with dates (``{date+N}`` or ISO), e-mail addresses and numbers masked and
    case and spacing folded."""
    text = _DATE.sub("<date>", text)
    text = re.sub(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b", "<email>", text)
    text = re.sub(r"\b\d+(?:[.,]\d+)?\b", "<n>", text)
    return " ".join(text.lower().split())


def _walk(value: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield from _walk(v, str(k))
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v, key)
    else:
        yield key, value


def _parts(raw: Mapping[str, Any]) -> tuple[set[str], set[int], set[str]]:
    """The places (routes, cities, codes), day offsets and names a raw task mentions."""
    places: set[str] = set()
    offsets = {int(m) for m in re.findall(r"\{date([+-]\d+)\}", raw.get("request", ""))}
    names: set[str] = set()
    blocks = [raw.get("expect", {}), *raw.get("setup", [])]
    for block in _iter_specs(blocks):
        if "origin" in block and "destination" in block:
            places.add(f"{block['origin']}-{block['destination']}")
        if "city" in block:
            places.add(str(block["city"]).lower())
        if "code" in block:
            places.add(str(block["code"]))
        for person in [*block.get("passengers", []), *([block["guest"]] if "guest" in block
                                                        else [])]:
            names.add(f"{person['first_name']} {person['last_name']}".lower())
        for who in block.get("names", []):
            names.add(str(who).lower())
    for key, value in _walk(blocks):
        if key in ("date", "check_in", "check_out") and isinstance(value, int):
            offsets.add(value)
    return places, offsets, names


def _iter_specs(value: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(value, Mapping):
        yield value
        for v in value.values():
            yield from _iter_specs(v)
    elif isinstance(value, list):
        for v in value:
            yield from _iter_specs(v)


def signature(raw: Mapping[str, Any]) -> tuple[str, tuple[str, ...], tuple[int, ...],
                                              tuple[str, ...]]:
    """(category, places, day offsets, names) of a raw task (a ``tasks.jsonl`` line)."""
    places, offsets, names = _parts(raw)
    return (str(raw["category"]), tuple(sorted(places)), tuple(sorted(offsets)),
            tuple(sorted(names)))


@dataclass(frozen=True, slots=True, kw_only=True)
class EvalIndex:
    """What the evaluation set uses, for the overlap checks."""

    requests: frozenset[str]
    signatures: frozenset[tuple[Any, ...]]
    place_days: frozenset[tuple[str, int]]
    names: frozenset[str]


def eval_index(path: Path | str = TASKS_FILE) -> EvalIndex:
    """The evaluation set (``tasks.jsonl``) as the overlap checks see it."""
    raws = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()
            if line.strip()]
    place_days, names = set(), set()
    for raw in raws:
        places, offsets, people = _parts(raw)
        place_days |= {(p, d) for p in places for d in offsets}
        names |= people
    return EvalIndex(requests=frozenset(normalized_request(r["request"]) for r in raws),
                     signatures=frozenset(signature(r) for r in raws),
                     place_days=frozenset(place_days), names=frozenset(names))


def overlap(raw: Mapping[str, Any], index: EvalIndex) -> str | None:
    """Why ``raw`` overlaps the evaluation set, or None."""
    if normalized_request(raw["request"]) in index.requests:
        return "same request text as an evaluation task"
    if signature(raw) in index.signatures:
        return "same (category, places, dates, names) as an evaluation task"
    places, offsets, names = _parts(raw)
    shared = {(p, d) for p in places for d in offsets} & index.place_days
    if shared:
        return f"uses an evaluation task's route/city on the same day: {sorted(shared)[0]}"
    if names & index.names:
        return f"uses an evaluation traveller: {sorted(names & index.names)[0]}"
    return None
