"""Interfaces (test hook): ``--model scripted:STEPS.json`` — a :class:`ScriptedBackend` playing
steps from a JSON file, so the CLI can be driven end to end without a model.

The file is a list; each entry is one model request's answer: a step or a list of steps.

    {"call": "search_flight_offers", "arguments": {...}, "thought": "..."}
    {"answer": "Booked {{-1.body.booking_id}}"}
    {"give_up": true}
    {"unparseable": "free text"}
    {"sleep": 30, "answer": "..."}      (waits first: a slow model, for Ctrl-C tests)

``{{I.path}}`` in a string is replaced by a value from the ``I``-th tool result the model has
seen (``-1`` the latest), e.g. ``{{-1.body.offers.0.offer_id}}``; a string that is only a
template keeps the value's type.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

from agentrt.backends.base import Candidate
from agentrt.errors import ConfigError

__all__ = ["scripted_backend"]

_TEMPLATE = re.compile(r"\{\{\s*(-?\d+)\.([^}\s]+)\s*\}\}")


def _lookup(results: list[Any], index: int, path: str) -> Any:
    try:
        value = results[index]
    except IndexError:
        raise ConfigError(f"scripted step refers to tool result {index}, "
                          f"but only {len(results)} were seen") from None
    for part in path.split("."):
        if isinstance(value, list) and part.lstrip("-").isdigit():
            value = value[int(part)]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            raise ConfigError(f"scripted step: no {path!r} in tool result {index}")
    return value


def _fill(value: Any, results: list[Any]) -> Any:
    if isinstance(value, str):
        whole = _TEMPLATE.fullmatch(value)
        if whole:
            return _lookup(results, int(whole.group(1)), whole.group(2))
        return _TEMPLATE.sub(lambda m: str(_lookup(results, int(m.group(1)), m.group(2))),
                             value)
    if isinstance(value, dict):
        return {k: _fill(v, results) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, results) for v in value]
    return value


def _candidate(step: dict[str, Any], results: list[Any]) -> Candidate:
    thought = str(step.get("thought", ""))
    if "call" in step:
        return Candidate.from_call(str(step["call"]), _fill(step.get("arguments", {}), results),
                                   thought=thought)
    if "answer" in step:
        return Candidate(kind="answer", answer=_fill(str(step["answer"]), results),
                         thought=thought)
    if step.get("give_up"):
        return Candidate(kind="give_up", thought=thought)
    if "unparseable" in step:
        return Candidate(kind="unparseable", raw=str(step["unparseable"]),
                         error="no JSON step found")
    raise ConfigError(f"scripted step needs call, answer, give_up or unparseable: {step!r}")


def _tool_results(messages: list[dict[str, Any]]) -> list[Any]:
    out = []
    for m in messages:
        if m.get("role") == "tool":
            try:
                out.append(json.loads(m.get("content") or "null"))
            except ValueError:
                out.append(m.get("content"))
    return out


def scripted_backend(path: str) -> Any:
    """A ``ScriptedBackend`` whose steps are read from the JSON file at ``path``."""
    from agentrt.testing import ScriptedBackend

    try:
        entries = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read scripted steps {path!r}: {exc}") from exc
    if not isinstance(entries, list):
        raise ConfigError(f"scripted steps {path!r} must be a JSON list")

    def responder(entry: Any) -> Any:
        steps = entry if isinstance(entry, list) else [entry]
        delay = max((float(s.get("sleep", 0)) for s in steps if isinstance(s, dict)),
                    default=0.0)

        async def play(messages: list[dict[str, Any]], _tools: Any, _n: int
                       ) -> list[Candidate]:
            if delay:
                await asyncio.sleep(delay)
            results = _tool_results(messages)
            return [_candidate(s, results) for s in steps]

        return play

    from agentrt.backends.base import Capabilities

    # its templates quote fields of the JSON results, so results stay JSON for it
    return ScriptedBackend([responder(e) for e in entries], name=f"scripted:{path}",
                           capabilities=Capabilities(native_n=True,
                                                     compact_observations=False))
