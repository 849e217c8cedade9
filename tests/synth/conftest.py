"""Fixtures for the synth tests: a fixed demo day (no wall clock decides a result), a recording
backend wrapper, and a clean logging configuration around every test (the CLI configures
structlog globally)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

#: the demo day every synth test runs on (the inventory is a function of the day offset)
TODAY = date(2026, 11, 25)


class Recorder:
    """Wraps a backend; records, per request text, the messages and tools of every
    ``propose`` in order (runs of different tasks interleave nothing: they run one by one)."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.name, self.capabilities = inner, inner.name, inner.capabilities
        self.seen: dict[str, list[tuple[list[dict[str, Any]], list[dict[str, Any]]]]] = {}
        self.replies: dict[str, list[Any]] = {}

    async def propose(self, messages: Sequence[dict[str, Any]], *, tools: Sequence[Any],
                      n: int = 1, sampling: Any = None, constraint: Any = None) -> list[Any]:
        query = next(str(m["content"]) for m in messages if m["role"] == "user")
        self.seen.setdefault(query, []).append((json.loads(json.dumps(list(messages))),
                                                list(tools)))
        out = await self.inner.propose(messages, tools=tools, n=n, sampling=sampling,
                                       constraint=constraint)
        self.replies.setdefault(query, []).extend(out)
        return out

    async def aclose(self) -> None:
        await self.inner.aclose()
