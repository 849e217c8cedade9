"""Grounding stage, every part of a request for action is done: a request that asks to book,
cancel, send … *two* things ("book the flight and a hotel room", "cancel flight X and hotel
Y") is not answered after the first one succeeded.

Rules (general, read from the toolset, nothing named for the demo):

- the **resources** of a toolset are the words of its unsafe tools' names (``create_flight_booking``
  → ``flight``) less the words of actions and of bookkeeping (create, cancel, update, booking,
  reservation, order, item …, :data:`GENERIC`) and less any word every unsafe tool shares (it
  tells none of them apart);
- a request that asks for an action (:func:`~agentrt.grounding.session.asks_for_action`) and
  names a resource (the word or its plural, not negated: "no hotel") **covers** it when a call
  of an unsafe tool carrying that word succeeded on the path;
- :func:`uncovered` lists the resources named but not covered, with their tools; the run's
  answer check refuses an answer while the list is not empty (unless the answer declines, asks
  a question, or an action was held back), telling the model what is left.

A request that names one resource only is never held here (the action rule covers it).

The same words tell the ``guard`` policy what *kind* of action a request asks for
(:func:`request_kinds`: create — book, reserve, order, send …; remove — cancel, delete …) and
what kind a tool does (:func:`tool_kind`, from its name): a cancellation in a run whose user
only asked to book is not the user's (``grounding/trust.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["ACTION_STEMS", "GENERIC", "request_kinds", "resources", "strip_negated_actions",
           "tool_kind", "uncovered"]

#: words of unsafe tools' names that name an action or bookkeeping, not a resource
GENERIC = frozenset(
    "create cancel delete remove update patch put post add make new set book booking bookings "  # noqa: SIM905
    "reserve reservation reservations order orders item items record records request requests "
    "confirm confirmation submit send change modify replace edit upsert insert by id ids for "
    "the a an of to from with and or my one all".split())
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_NEGATED = re.compile(r"\b(?:no|not|without|never|nor)\s+(?:\w+\s+){0,2}?$", re.IGNORECASE)


def _words(name: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(name)]


def resources(tools: Iterable[Any]) -> dict[str, tuple[str, ...]]:
    """Resource word → the unsafe tools whose name carries it (see the module docstring)."""
    unsafe = [t for t in tools if getattr(t, "side_effect", "safe") != "safe"]
    by_word: dict[str, list[str]] = {}
    for tool in unsafe:
        for word in dict.fromkeys(_words(tool.name)):
            if len(word) >= 3 and word not in GENERIC and not word.isdigit():
                by_word.setdefault(word, []).append(tool.name)
    return {w: tuple(names) for w, names in by_word.items() if len(names) < len(unsafe)}


def _named(request: str, word: str) -> bool:
    for m in re.finditer(rf"\b{re.escape(word)}(?:s|es)?\b", request, re.IGNORECASE):
        if not _NEGATED.search(request[max(0, m.start() - 30):m.start()]):
            return True
    return False


#: the kinds of action a request asks for, and the words of the tools that do them
_KINDS = {
    "remove": (re.compile(r"\b(?:cancel|delet|remov|drop)\w*", re.IGNORECASE),
               {"cancel", "delete", "remove", "drop"}),
    "create": (re.compile(r"\b(?:book(?!ings?\b)|reserv(?!ations?\b)|creat|buy|purchas|send|"
                          r"submit)\w*", re.IGNORECASE),  # verbs: "my booking" is a noun
               {"create", "book", "reserve", "add", "make", "new", "post", "order", "purchase",
                "buy", "send", "submit"}),
}


#: the stems of action verbs in requests (every kind above, and some this module cannot
#: sort: order, schedule)
ACTION_STEMS = r"(?:book|reserv|cancel|delet|remov|drop|creat|buy|purchas|order|send|" \
               r"submit|schedul)"
#: "do not book anything", "don't cancel", "without booking", "nothing to reserve"
_NEGATED_ACTION = re.compile(rf"\b(?:do not|don't|dont|not|no|without|never|nothing)\s+"
                             rf"(?:\w+\s+){{0,2}}?{ACTION_STEMS}\w*", re.IGNORECASE)


def strip_negated_actions(request: str) -> str:
    """``request`` with its negated action verbs ("do not book anything") blanked out."""
    return _NEGATED_ACTION.sub(" ", request)


def request_kinds(request: str) -> frozenset[str]:
    """The kinds of action (``create``, ``remove``) a request asks for, negated ones ("do not
    book anything") left out; empty when it names none this module knows."""
    text = strip_negated_actions(request)
    return frozenset(kind for kind, (pattern, _words_) in _KINDS.items() if pattern.search(text))


def tool_kind(name: str) -> str | None:
    """The kind of action a tool's name says it does (``cancel_flight_booking`` → remove)."""
    words = set(_words(name))
    kinds = [kind for kind, (_pattern, kind_words) in _KINDS.items() if words & kind_words]
    return kinds[0] if len(kinds) == 1 else None


def _fitting(request: str, names: Sequence[str]) -> tuple[str, ...]:
    """Those of ``names`` that do the kind of action the request asks for (a request to book
    is not pointed at a cancel tool); all of them when that cannot be told."""
    words = set().union(*(kind_words for pattern, kind_words in _KINDS.values()
                          if pattern.search(request)))
    fit = tuple(n for n in names if words.intersection(_words(n)))
    return fit or tuple(names)


def uncovered(request: str, table: Mapping[str, Sequence[str]],
              done_tools: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """The resources ``request`` names that no succeeded unsafe call (``done_tools``) acted
    on, each with the tools that would (those doing the kind of action asked for: a request
    to book lists ``create_hotel_booking``, not ``cancel_hotel_booking``); empty when the
    request names fewer than two resources."""
    named = {w: tuple(names) for w, names in table.items() if _named(request, w)}
    if len(named) < 2:
        return {}
    done = set(done_tools)
    return {w: _fitting(request, names) for w, names in named.items()
            if not done.intersection(names)}
