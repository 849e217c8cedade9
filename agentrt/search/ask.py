"""Search stage: when the search is stuck on something only the user can give, it asks.

A call that changes something is refused before any I/O when it names a person the request
never named ("John Doe"), a contact nobody gave, or an identifier no read-only operation can
produce (the booking to cancel) — the grounding stage marks those violations ``ask_user``.
The model is then asked for an answer, and a clarifying question is what it should give; a
small model often cannot, and proposes the same change with other invented values until the
search runs dry. Ending such a run with "gave up" tells the user nothing they can act on.

So when a run ends without an accepted answer (``gave_up`` or ``out_of_budget``) and the tree
holds ``ask_user`` refusals, the run's answer is the runtime's own question, naming the
missing values by the argument paths that were refused (``passengers[0].first_name`` →
"passengers: first name"), and its status is ``needs_input``; :attr:`RunResult.missing` lists
the paths. Only refusals of calls the request asks for count (the run's grounding says which:
a booking tool for "book me …", none for a look-up), so a model that wanders into a booking
while asked for a price does not turn the look-up into a question. Nothing was sent for
them: the refusals happened before I/O. The question states no fact, so it cannot be wrong
about one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from agentrt.search.tree import Node

__all__ = ["missing_inputs", "question_for"]

_INDEX = re.compile(r"\[\d+\]")


def missing_inputs(nodes: Iterable[Node],
                   asked_for: Callable[[str], bool] | None = None) -> list[str]:
    """The argument paths (``$`` dropped, list indexes kept out) of the ``ask_user`` refusals
    in ``nodes``, first seen first; with ``asked_for``, only of the tools it says the request
    asks for (a made-up booking in a run that only looks something up asks nothing)."""
    seen: dict[str, None] = {}
    for node in nodes:
        if node.status != "rejected_ungrounded":
            continue
        if asked_for is not None and not asked_for(node.tool or ""):
            continue
        for v in node.violations:
            if (v.model_extra or {}).get("ask_user"):
                path = _INDEX.sub("", v.path).removeprefix("$").lstrip(".") or "value"
                seen.setdefault(path, None)
    return list(seen)


def _words(name: str) -> str:
    return name.replace("_", " ").replace("-", " ").strip()


def question_for(missing: list[str]) -> str:
    """A clarifying question for the ``missing`` paths (:func:`missing_inputs`)."""
    groups: dict[str, list[str]] = {}
    for path in missing:
        head, _, rest = path.partition(".")
        groups.setdefault(head, [])
        if rest:
            groups[head].append(_words(rest.replace(".", " ")))
    parts = [f"{_words(head)} ({', '.join(dict.fromkeys(items))})" if items else _words(head)
             for head, items in groups.items()]
    listed = "; ".join(parts)
    return (f"I need some details only you can give before I can do this: {listed}. "
            "Could you tell me?")
