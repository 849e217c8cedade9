"""Grounding stage: what a request for action gives that nothing on the path has used yet.

A small model books the flight of "book the flight … and a hotel room from the 28th to the
31st" and reports it done; it books Ana of "for Ana Silva (born 1990-04-12) and Joao Silva
(born 1988-11-03)"; it cancels the first of "cancel B8N2KD and HBR6XW2Q". Every fact of its
answer is grounded, and the task is half done. What shows it, for any toolset, is a concrete
value the user wrote that no call on the path has taken and no result holds: the check-out
date, the second birth date, the second reference.

Rules (general: nothing named for a domain):

- the request's *leftovers* (:func:`leftovers`) are its facts (:func:`~agentrt.grounding.values.extract_facts`)
  of the kinds a call takes — dates, references, flight numbers, three-letter codes; not
  amounts or times, which a request gives as conditions ("under 300 EUR", "after 10:00") — that
  appear neither in the arguments of any call on the path (sent or failed: tried counts) nor
  in any successful result on it;
- the run's answer check refuses, **once** per run, an answer reporting an action while the
  request has leftovers, naming them; the model may know better (a date only meant as
  context), so a second answer stands. An answer that declines or says part cannot be done
  is never refused here.

A look-up (no action asked) is not held here: its answer is checked by the fact rules.

Before a change is sent (:func:`skipped`): a call that takes two or more consequential values
(:func:`~agentrt.grounding.roles.argument_role`: names, contacts, personal data) from the
request, and leaves out a fact of the same kind as one of them (a date, when it takes a birth
date) that the request writes *between* them and nothing on the path used, is ``ungrounded``:
"… Ana Silva (born 1990-04-12) and Joao Silva (born 1988-11-03). Email ana@…" booked for Ana
with Ana's e-mail skips Joao's birth date. The value lies inside the stretch of the request the
call already reads from, so it is part of what the call is for; a value outside it (a hotel's
check-out date before "Traveller: …") is not held here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from agentrt.grounding.provenance import Provenance
from agentrt.grounding.roles import argument_role, leaves, schema_at
from agentrt.grounding.values import Key, extract_facts, scalar_keys
from agentrt.toolset.tool import Tool
from agentrt.validation import Violation

__all__ = ["CALL_FACTS", "leftovers", "skipped"]

#: the kinds of request facts a call is expected to take
CALL_FACTS = frozenset(("date", "reference", "flight", "code"))


def _argument_keys(arguments: Iterable[Any]) -> set[Key]:
    """The keys of every scalar in the given calls' arguments."""
    keys: set[Key] = set()
    for args in arguments:
        for _, value in leaves(args):
            keys.update(scalar_keys(value))
    return keys


def leftovers(request: str, path: Sequence[Any], ledger: Provenance) -> list[str]:
    """The request's facts (as written) that no call on ``path`` took and no result on it
    holds (see the module docstring); ``ledger`` is the provenance of ``path``."""
    facts = [f for f in extract_facts(request) if f.kind in CALL_FACTS]
    if not facts:
        return []
    used = _argument_keys(getattr(s, "arguments", None) for s in path)
    return list(dict.fromkeys(f.text for f in facts if _unused(f, used, ledger)))


def _unused(fact: Any, used: set[Key], ledger: Provenance) -> bool:
    return not any(k in used for k in fact.keys) and not any(
        src.kind == "observation" for src in ledger.fact_sources(fact))


def skipped(tool: Tool, arguments: Any, request: str, path: Sequence[Any], ledger: Provenance,
            *, marks: Mapping[str, bool] | None = None) -> list[Violation]:
    """An ``ungrounded`` violation when a change ``tool(arguments)`` skips a value the request
    writes between the consequential values the call takes from it (module docstring); ``[]``
    for reads and complete calls."""
    if tool.side_effect == "safe" or not isinstance(arguments, Mapping):
        return []
    text = request.casefold()
    spans: list[tuple[int, int]] = []
    kinds: set[str] = set()
    lists: list[str] = []
    for where, value in leaves(arguments):
        if not isinstance(value, str) or not value.strip():
            continue
        role, _ = argument_role(where, value, schema_at(tool.parameters, where), marks=marks)
        if role != "consequential":
            continue
        at = text.find(value.strip().casefold())
        if at < 0:
            continue
        spans.append((at, at + len(value.strip())))
        kinds.update(f.kind for f in extract_facts(value) if f.kind in CALL_FACTS)
        if "[" in where:
            lists.append(where.split("[", 1)[0])
    if len(spans) < 2 or not kinds:
        return []
    lo, hi = min(a for a, _ in spans), max(b for _, b in spans)
    used = _argument_keys([*(getattr(s, "arguments", None) for s in path), arguments])
    left = [f.text for f in extract_facts(request)
            if f.kind in kinds and lo < f.start < hi and _unused(f, used, ledger)]
    if not left:
        return []
    into = f" (another entry of {lists[0]}, with what the request gives for it)" if lists else ""
    return [Violation(
        kind="ungrounded", path=f"$.{lists[0]}" if lists else "$",
        message=f"the user's request gives {', '.join(json.dumps(v) for v in left)} among the "
                f"values this call takes from it, and the call leaves it out: add it{into} — "
                "every person or item the user named — or, if it belongs to no call, say why "
                "in your answer")]
