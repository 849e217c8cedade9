"""Toolset stage: tool retrieval — the top-k tools for a request (BM25 via ``bm25s``), so a
toolset with hundreds of operations fits a small model's context."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agentrt.toolset.render import tokenize
from agentrt.toolset.tool import Tool

_STOP = {"a", "an", "the", "to", "of", "for", "and", "or", "in", "on", "at", "by", "with",
         "me", "my", "i", "please", "can", "you", "is", "it", "this", "that", "be", "from",
         "what", "which", "get", "api", "want", "need", "would", "like"}
#: request words mapped onto the words API descriptions use for the same thing
_SYNONYMS = {"find": "search", "look": "search", "lookup": "search", "show": "search",
             "cheapest": "price", "cheap": "price", "reserve": "book", "reservation": "booking",
             "stay": "hotel", "room": "hotel", "fly": "flight", "trip": "flight"}


def _words(text: str) -> list[str]:
    return [_SYNONYMS.get(w, w) for w in tokenize(text) if w not in _STOP and not w.isdigit()]


def _argument_words(tool: Tool) -> str:
    """Argument names, and the values of small enums ("economy", "business" …): requests
    often name a value rather than the argument."""
    words = []
    for name, sub in (tool.parameters.get("properties") or {}).items():
        words.append(name)
        if isinstance(sub, dict) and isinstance(sub.get("enum"), list) and len(sub["enum"]) <= 12:
            words.extend(str(v) for v in sub["enum"] if isinstance(v, str))
    return " ".join(words)


def tool_document(tool: Tool) -> list[str]:
    """The words a tool is found by: its name (twice: names are dense), description,
    path, tags, argument names and enum values."""
    text = " ".join([tool.name, tool.name, tool.description, tool.path, " ".join(tool.tags),
                     _argument_words(tool)])
    return _words(text) or ["_"]


class ToolIndex:
    """A BM25 index over tools, built once."""

    def __init__(self, tools: Sequence[Tool]) -> None:
        import bm25s

        self.tools = list(tools)
        docs = [tool_document(t) for t in self.tools]
        self.vocab = {w for d in docs for w in d}
        self._bm25: Any = bm25s.BM25()
        if self.tools:
            self._bm25.index(docs, show_progress=False)

    def search(self, query: str, k: int = 8) -> list[Tool]:
        if not self.tools or k <= 0:
            return []
        k = min(k, len(self.tools))
        words = [w for w in _words(query) if w in self.vocab]
        if not words:
            return self.tools[:k]
        idx, _scores = self._bm25.retrieve([words], k=k, show_progress=False)
        return [self.tools[int(i)] for i in idx[0]]
