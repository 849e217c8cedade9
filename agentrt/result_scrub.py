"""Agent stage: a run's result scrubbed of every secret before it leaves the process.

The parts of a result that are the agent's — its system prompt, the worked example, the tools
offered — are the same in every run; they are checked (and scrubbed) once per set of known
secrets (the redactor's ``secrets`` is a new object whenever one is added) and per worked
example. A run's own parts are checked on every run: one JSON text of them
(:meth:`~agentrt.search.result.RunResult.scan_text`) and one substring test per secret form and
credential word. Only a result with something to scrub is walked and re-validated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pydantic_core

from agentrt.redaction import DEFAULT_REDACTOR
from agentrt.search import RunResult

__all__ = ["ResultScrubber"]

#: the parts of a result that are the agent's, the same in every run
_SHARED_FIELDS = frozenset({"system", "demonstration", "tools"})


@dataclass(frozen=True, slots=True, kw_only=True)
class _SharedParts:
    """The shared parts of an agent's results, scrubbed as of one set of known secrets."""

    secrets: frozenset[str]
    #: the system prompt they were made from (an agent's ``system`` may be replaced)
    source: str
    #: nothing in them needed scrubbing (the values below are the originals)
    clean: bool
    system: str
    demonstration: str | None
    tools: list[dict[str, Any]]


class ResultScrubber:
    """Scrubs an agent's results; remembers its shared parts for at most ``size`` keys."""

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._cache: dict[tuple[tuple[str, ...], str | None], _SharedParts] = {}

    def finish(self, result: RunResult, *, system: str, demonstration: str | None,
               offered: Sequence[str], tools: list[dict[str, Any]]) -> RunResult:
        """``result`` with the shared parts added (``tools``: those of ``offered``, as the
        result records them), every secret any executor knows of scrubbed."""
        secrets = DEFAULT_REDACTOR.secrets  # before checking: one added meanwhile is seen next
        shared = self._shared(system, demonstration, offered, tools, secrets)
        try:
            own_clean = DEFAULT_REDACTOR.clean_text(result.scan_text(exclude=_SHARED_FIELDS))
        except pydantic_core.PydanticSerializationError:
            own_clean = False  # the full dump below says what cannot be serialised
        own: dict[str, Any] | None = None
        if not own_clean:  # walk it: a credential word alone leaves it as it was
            data = result.model_dump(mode="json", exclude=set(_SHARED_FIELDS))
            own = DEFAULT_REDACTOR.scrub(data)
            own_clean = own is data or own == data
        if own_clean and shared.clean:
            result.system, result.demonstration, result.tools = system, demonstration, tools
            return result
        if own is None:
            own = result.model_dump(mode="json", exclude=set(_SHARED_FIELDS))
        return RunResult.model_validate({**own, "system": shared.system,
                                         "demonstration": shared.demonstration,
                                         "tools": shared.tools})

    def _shared(self, system: str, demonstration: str | None, offered: Sequence[str],
                tools: list[dict[str, Any]], secrets: frozenset[str]) -> _SharedParts:
        key = (tuple(offered), demonstration)
        parts = self._cache.get(key)
        if parts is not None and parts.secrets is secrets and parts.source is system:
            return parts
        data = {"system": system, "demonstration": demonstration, "tools": tools}
        scrubbed = DEFAULT_REDACTOR.scrub(data)
        clean = scrubbed is data or scrubbed == data  # e.g. a credential word, nothing blanked
        if len(self._cache) >= self._size:  # one entry per worked example
            self._cache.pop(next(iter(self._cache)))
        parts = self._cache[key] = _SharedParts(
            secrets=secrets, source=system, clean=clean, system=scrubbed["system"],
            demonstration=scrubbed["demonstration"], tools=list(scrubbed["tools"]))
        return parts
