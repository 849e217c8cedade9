"""Toolset stage: a tool's side-effect class from the marks people put on it, and back.

Three vocabularies say whether a call changes the world; agentrt reads all of them into one
:data:`~agentrt.protocol.SideEffect` (``safe`` / ``idempotent`` / ``unsafe``) and remembers
where the class came from (`Tool.side_effect_source`).

OpenAPI operations, first mark that is present wins:

1. ``x-agentrt-side-effect: safe | idempotent | unsafe`` — ours, exact;
2. ``x-openai-isConsequential`` (OpenAI GPT Actions) — ``true``: the call must be confirmed
   every time, so it is never ``safe`` (an idempotent method stays ``idempotent``, anything
   else becomes ``unsafe``); ``false``: the user may "always allow" it, i.e. ``safe``;
3. the HTTP method — GET/HEAD/OPTIONS/TRACE ``safe``, PUT/DELETE ``idempotent``, POST/PATCH
   (and anything unknown) ``unsafe``.

MCP tools, first mark that is present wins:

1. ``_meta["x-agentrt-side-effect"]`` — what ``agentrt mcp serve`` publishes, exact;
2. the MCP annotations — ``readOnlyHint: true`` ``safe``; otherwise ``idempotentHint: true``
   ``idempotent``; otherwise ``unsafe`` (``destructiveHint`` does not lower the class: an
   additive call still commits something);
3. no annotations at all — ``unsafe`` (the MCP defaults: not read-only, destructive, not
   idempotent).

`mcp_annotations` is the way back: the hints ``agentrt mcp serve`` gives each tool.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentrt.errors import SpecError
from agentrt.protocol import SideEffect

__all__ = [
    "CONSEQUENTIAL_EXTENSION",
    "SIDE_EFFECTS",
    "SIDE_EFFECT_EXTENSION",
    "from_mcp_tool",
    "from_operation",
    "mcp_annotations",
]

#: Our `x-` extension: the exact side-effect class of an operation (or of an MCP tool, in
#: its ``_meta``).
SIDE_EFFECT_EXTENSION = "x-agentrt-side-effect"
#: OpenAI GPT Actions' extension: ``true`` = always ask before running.
CONSEQUENTIAL_EXTENSION = "x-openai-isConsequential"
SIDE_EFFECTS: tuple[SideEffect, ...] = ("safe", "idempotent", "unsafe")
_BY_METHOD: dict[str, SideEffect] = {
    "GET": "safe", "HEAD": "safe", "OPTIONS": "safe", "TRACE": "safe",
    "PUT": "idempotent", "DELETE": "idempotent", "POST": "unsafe", "PATCH": "unsafe",
}


def from_operation(method: str, extensions: Mapping[str, Any], *, source: str = "",
                   pointer: str = "") -> tuple[SideEffect, str]:
    """``(class, where it came from)`` for an OpenAPI operation; a malformed mark raises
    :class:`SpecError` (a spec that says something we cannot read is not guessed at)."""
    method = method.upper()
    override = extensions.get(SIDE_EFFECT_EXTENSION)
    if override is not None:
        if override not in SIDE_EFFECTS:
            raise SpecError(f"{SIDE_EFFECT_EXTENSION} must be safe, idempotent or unsafe",
                            source=source, pointer=f"{pointer}/{SIDE_EFFECT_EXTENSION}")
        return override, SIDE_EFFECT_EXTENSION
    by_method = _BY_METHOD.get(method, "unsafe")
    consequential = extensions.get(CONSEQUENTIAL_EXTENSION)
    if consequential is not None:
        if not isinstance(consequential, bool):
            raise SpecError(f"{CONSEQUENTIAL_EXTENSION} must be true or false",
                            source=source, pointer=f"{pointer}/{CONSEQUENTIAL_EXTENSION}")
        if consequential:
            return ("idempotent" if by_method == "idempotent" else "unsafe"), \
                CONSEQUENTIAL_EXTENSION
        return "safe", CONSEQUENTIAL_EXTENSION
    return by_method, f"method {method}"


def from_mcp_tool(annotations: Mapping[str, Any] | None, meta: Mapping[str, Any] | None
                  ) -> tuple[SideEffect, str]:
    """``(class, where it came from)`` for an MCP tool's ``annotations`` and ``_meta``."""
    exact = (meta or {}).get(SIDE_EFFECT_EXTENSION)
    if exact in SIDE_EFFECTS:
        return exact, f"_meta {SIDE_EFFECT_EXTENSION}"
    hints = {k: v for k, v in (annotations or {}).items()
             if k in ("readOnlyHint", "destructiveHint", "idempotentHint") and v is not None}
    if not hints:
        return "unsafe", "mcp: no annotations"
    if hints.get("readOnlyHint") is True:
        return "safe", "mcp readOnlyHint"
    if hints.get("idempotentHint") is True:
        return "idempotent", "mcp idempotentHint"
    return "unsafe", "mcp annotations"


def mcp_annotations(side_effect: SideEffect) -> dict[str, bool]:
    """The MCP hints for a class. Every non-safe tool is marked ``destructiveHint: true``:
    an OpenAPI spec does not say whether a call only adds, and a client may trust a false."""
    if side_effect == "safe":
        return {"readOnlyHint": True, "destructiveHint": False, "idempotentHint": True,
                "openWorldHint": True}
    return {"readOnlyHint": False, "destructiveHint": True,
            "idempotentHint": side_effect == "idempotent", "openWorldHint": True}
